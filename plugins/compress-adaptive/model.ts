/**
 * The adaptive codec's decision: for a payload of `n` bytes over a link of
 * `b` Mbps, pick the candidate minimising the time to deliver,
 *
 *   n / compressSpeed + (n / ratio) · 8 / b + n / decompressSpeed,
 *
 * from estimates kept as moving averages of measurements on recent data.
 * Pure: no timers, no codecs; the plugin feeds it measurements.
 *
 * @module
 */

/** What is known of one candidate. */
export interface CandidateEstimate {
  /** e.g. `lz4`, `zstd-3`. */
  label: string;
  /** Compression speed, bytes per millisecond. */
  compressBytesPerMs?: number;
  /** Decompression speed, bytes per millisecond. */
  decompressBytesPerMs?: number;
  /** Original size divided by compressed size. */
  ratio?: number;
}

/** One measurement of a candidate on real data. */
export interface Measurement {
  /** Bytes in. */
  originalBytes: number;
  /** Bytes out. */
  compressedBytes: number;
  /** Compression time. */
  compressMs?: number;
  /** Decompression time. */
  decompressMs?: number;
}

const FLOOR_MS = 0.001;

/**
 * Keeps estimates per candidate and chooses.
 *
 * @example
 * ```ts
 * import { DeliveryModel } from "./model.ts";
 * const model = new DeliveryModel(["none", "lz4"]);
 * model.record("none", { originalBytes: 1e6, compressedBytes: 1e6, compressMs: 0.2, decompressMs: 0.1 });
 * model.record("lz4", { originalBytes: 1e6, compressedBytes: 2e5, compressMs: 3, decompressMs: 1 });
 * model.choose(1e6, 10).label; // "lz4" on a 10 Mbps link
 * model.choose(1e6, 100_000).label; // "none" on a very fast one
 * ```
 */
export class DeliveryModel {
  readonly #estimates = new Map<string, CandidateEstimate>();
  readonly #weight: number;

  /** Tracks `labels`; `weight` is how much a new measurement counts (0–1). */
  constructor(labels: readonly string[], weight = 0.3) {
    for (const label of labels) this.#estimates.set(label, { label });
    this.#weight = weight;
  }

  /** Folds a measurement into the candidate's estimates. */
  record(label: string, measurement: Measurement): void {
    const estimate = this.#estimates.get(label);
    if (!estimate || measurement.originalBytes <= 0) return;
    const blend = (old: number | undefined, next: number) =>
      old === undefined ? next : old + this.#weight * (next - old);
    estimate.ratio = blend(estimate.ratio, measurement.originalBytes / Math.max(1, measurement.compressedBytes));
    if (measurement.compressMs !== undefined) {
      estimate.compressBytesPerMs = blend(
        estimate.compressBytesPerMs,
        measurement.originalBytes / Math.max(FLOOR_MS, measurement.compressMs),
      );
    }
    if (measurement.decompressMs !== undefined) {
      estimate.decompressBytesPerMs = blend(
        estimate.decompressBytesPerMs,
        measurement.originalBytes / Math.max(FLOOR_MS, measurement.decompressMs),
      );
    }
  }

  /** Estimated milliseconds to deliver `bytes` over `bandwidthMbps` with `label`, or undefined if unknown. */
  deliveryMs(label: string, bytes: number, bandwidthMbps: number): number | undefined {
    const estimate = this.#estimates.get(label);
    if (!estimate?.ratio || !estimate.compressBytesPerMs || !estimate.decompressBytesPerMs) return undefined;
    const transferMs = (bytes / estimate.ratio) * 8 / (bandwidthMbps * 1000);
    return bytes / estimate.compressBytesPerMs + transferMs + bytes / estimate.decompressBytesPerMs;
  }

  /** The known candidate with the least estimated delivery time (the first candidate when none is known). */
  choose(bytes: number, bandwidthMbps: number): { label: string; deliveryMs?: number } {
    let best: { label: string; deliveryMs?: number } | undefined;
    for (const label of this.#estimates.keys()) {
      const ms = this.deliveryMs(label, bytes, bandwidthMbps);
      if (ms !== undefined && (!best || ms < (best.deliveryMs ?? Infinity))) best = { label, deliveryMs: ms };
    }
    return best ?? { label: [...this.#estimates.keys()][0] };
  }

  /**
   * Whether `label` could still beat the best known candidate. Candidates are
   * ordered fastest first, and a later one compresses no faster than any
   * earlier one (LZ4 before zstd, zstd levels ascending), so compressing
   * `bytes` with `label` takes at least as long as with the slowest earlier
   * one measured; if that alone exceeds the best delivery time, `label` cannot win.
   */
  couldWin(label: string, bytes: number, bandwidthMbps: number): boolean {
    const best = this.choose(bytes, bandwidthMbps).deliveryMs;
    if (best === undefined) return true;
    let lowerBoundMs = 0;
    for (const estimate of this.#estimates.values()) {
      if (estimate.label === label) break;
      if (estimate.compressBytesPerMs) lowerBoundMs = Math.max(lowerBoundMs, bytes / estimate.compressBytesPerMs);
    }
    return lowerBoundMs < best;
  }

  /** Labels whose estimates are incomplete. */
  unknown(): string[] {
    return [...this.#estimates.values()].filter((e) => !e.ratio || !e.compressBytesPerMs || !e.decompressBytesPerMs)
      .map((e) => e.label);
  }

  /** A copy of every estimate. */
  estimates(): CandidateEstimate[] {
    return [...this.#estimates.values()].map((estimate) => ({ ...estimate }));
  }
}
