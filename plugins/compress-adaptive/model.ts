/**
 * The adaptive codec's decision: for a payload of `n` bytes over a link of
 * `b` Mbps, pick the candidate minimising the time to deliver,
 *
 *   n / compressSpeed + (n / ratio) · 8 / b + n / decompressSpeed.
 *
 * Estimates are moving averages of real work. A candidate never measured is
 * estimated from priors scaled to the measured reference codec (LZ4, or the
 * first candidate), so nothing has to be tried on the side to be considered.
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
  /** How many real measurements shaped it (0: the figures are priors). */
  measurements: number;
}

interface Tracked {
  label: string;
  compressBytesPerMs?: number;
  decompressBytesPerMs?: number;
  ratio?: number;
  measurements: number;
  decompressMeasured: boolean;
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

/**
 * Priors relative to LZ4: compression speed, decompression speed (both as
 * multiples of LZ4's compression speed) and how much of LZ4's saving the
 * codec multiplies (`ratio = 1 + (lz4Ratio − 1) · gain`). From this project's
 * benchmark on JSON and binary data; measurement replaces them as soon as a
 * candidate is used.
 */
const PRIORS: Record<string, { compress: number; decompress: number; gain: number }> = {
  none: { compress: 4, decompress: 8, gain: 0 },
  lz4: { compress: 1, decompress: 2, gain: 1 },
  "zstd-1": { compress: 0.6, decompress: 1.1, gain: 2.3 },
  "zstd-2": { compress: 0.55, decompress: 1.1, gain: 2.3 },
  "zstd-3": { compress: 0.5, decompress: 1, gain: 2.3 },
};

function prior(label: string) {
  if (PRIORS[label]) return PRIORS[label];
  const level = Number(label.slice(5));
  // zstd slows roughly geometrically with level and gains a little ratio.
  return { compress: 0.5 * 0.72 ** (level - 3), decompress: 1, gain: 2.3 + 0.05 * (level - 3) };
}

const FLOOR_MS = 0.001;

/**
 * Keeps estimates per candidate and chooses.
 *
 * @example
 * ```ts
 * import { DeliveryModel } from "./model.ts";
 * const model = new DeliveryModel(["none", "lz4", "zstd-3"]);
 * model.record("lz4", { originalBytes: 1e6, compressedBytes: 2e5, compressMs: 2, decompressMs: 1 });
 * model.choose(1e6, 10).label; // "zstd-3", from priors, before it was ever used
 * model.choose(1e6, 100_000).label; // "none"
 * ```
 */
export class DeliveryModel {
  readonly #estimates = new Map<string, Tracked>();
  readonly #weight: number;
  readonly #reference: string;

  /** Tracks `labels`; `weight` is how much a new measurement counts (0–1). */
  constructor(labels: readonly string[], weight = 0.3) {
    for (const label of labels) this.#estimates.set(label, { label, measurements: 0, decompressMeasured: false });
    this.#weight = weight;
    this.#reference = labels.includes("lz4") ? "lz4" : labels[0];
  }

  /** The candidate measured first, which every prior is scaled to. */
  get reference(): string {
    return this.#reference;
  }

  /** Folds a measurement into the candidate's estimates (the first one replaces its priors). */
  record(label: string, measurement: Measurement): void {
    const estimate = this.#estimates.get(label);
    if (!estimate || measurement.originalBytes <= 0) return;
    const first = estimate.measurements === 0;
    const blend = (old: number | undefined, next: number) =>
      first || old === undefined ? next : old + this.#weight * (next - old);
    estimate.ratio = blend(estimate.ratio, measurement.originalBytes / Math.max(1, measurement.compressedBytes));
    if (measurement.compressMs !== undefined) {
      const speed = measurement.originalBytes / Math.max(FLOOR_MS, measurement.compressMs);
      estimate.compressBytesPerMs = blend(estimate.compressBytesPerMs, speed);
    }
    if (measurement.decompressMs !== undefined) {
      const speed = measurement.originalBytes / Math.max(FLOOR_MS, measurement.decompressMs);
      // Decompression is measured apart from compression: its first sample replaces the prior too.
      estimate.decompressBytesPerMs = estimate.decompressMeasured ? blend(estimate.decompressBytesPerMs, speed) : speed;
      estimate.decompressMeasured = true;
    }
    if (measurement.compressMs !== undefined) estimate.measurements++;
  }

  /** The estimate of `label`: measured figures, completed by priors scaled to the reference. */
  estimate(label: string): Required<CandidateEstimate> | undefined {
    const own = this.#estimates.get(label);
    const reference = this.#estimates.get(this.#reference);
    if (!own || !reference?.compressBytesPerMs || !reference.ratio) return undefined;
    const guess = prior(label);
    const base = prior(this.#reference);
    const unit = reference.compressBytesPerMs / base.compress;
    const saving = (reference.ratio - 1) / Math.max(base.gain, 1e-9);
    return {
      label,
      measurements: own.measurements,
      compressBytesPerMs: own.compressBytesPerMs ?? unit * guess.compress,
      decompressBytesPerMs: own.decompressBytesPerMs ?? unit * guess.decompress,
      ratio: own.ratio ?? 1 + saving * guess.gain,
    };
  }

  /** Estimated milliseconds to deliver `bytes` over `bandwidthMbps` with `label`, or undefined before any measurement. */
  deliveryMs(label: string, bytes: number, bandwidthMbps: number): number | undefined {
    const estimate = this.estimate(label);
    if (!estimate) return undefined;
    const transferMs = (bytes / estimate.ratio) * 8 / (bandwidthMbps * 1000);
    return bytes / estimate.compressBytesPerMs + transferMs + bytes / estimate.decompressBytesPerMs;
  }

  /** Candidates by estimated delivery time, best first (empty before the reference is measured). */
  rank(bytes: number, bandwidthMbps: number): { label: string; deliveryMs: number }[] {
    return [...this.#estimates.keys()]
      .map((label) => ({ label, deliveryMs: this.deliveryMs(label, bytes, bandwidthMbps) }))
      .filter((entry): entry is { label: string; deliveryMs: number } => entry.deliveryMs !== undefined)
      .sort((a, b) => a.deliveryMs - b.deliveryMs);
  }

  /** The best candidate, or the reference while nothing is measured. */
  choose(bytes: number, bandwidthMbps: number): { label: string; deliveryMs?: number } {
    return this.rank(bytes, bandwidthMbps)[0] ?? { label: this.#reference };
  }

  /** A copy of every estimate (priors filled in). */
  estimates(): CandidateEstimate[] {
    return [...this.#estimates.values()].map((tracked) => ({
      label: tracked.label,
      measurements: tracked.measurements,
      ...this.estimate(tracked.label),
    }));
  }
}
