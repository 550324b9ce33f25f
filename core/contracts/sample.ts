/**
 * Network measurements and the rolling window whose medians drive decisions.
 *
 * @module
 */
import { type FieldIssue, SwitchyardError } from "../util/errors.ts";

/**
 * One measurement of a link or a cluster. Every field is optional: a probe
 * reports what it measures. A measure never seen never counts as good.
 */
export interface NetworkSample {
  /** Round-trip time in milliseconds. */
  rttMs?: number;
  /** Bandwidth in megabits per second. */
  bandwidthMbps?: number;
  /** Fraction of packets or pings lost, 0 to 1. */
  lossRatio?: number;
}

/** The measures a {@linkcode NetworkSample} can carry. */
export type Measure = keyof NetworkSample;

/** Every measure, in a stable order. */
export const MEASURES: readonly Measure[] = ["rttMs", "bandwidthMbps", "lossRatio"];

/** For each measure, which value is worse: higher RTT and loss, lower bandwidth. */
const WORST: Record<Measure, (a: number, b: number) => number> = {
  rttMs: Math.max,
  bandwidthMbps: Math.min,
  lossRatio: Math.max,
};

/**
 * Finds what is wrong with a sample a probe returned: not an object, a
 * measure that is not a finite number, negative, or a loss ratio above 1.
 */
export function sampleIssues(sample: unknown): FieldIssue[] {
  if (typeof sample !== "object" || sample === null || Array.isArray(sample)) {
    return [{ path: "", message: "must be an object like { rttMs?, bandwidthMbps?, lossRatio? }" }];
  }
  const issues: FieldIssue[] = [];
  const record = sample as Record<string, unknown>;
  for (const measure of MEASURES) {
    const value = record[measure];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      issues.push({ path: measure, message: `must be a finite number, got ${String(value)}` });
    } else if (value < 0) {
      issues.push({ path: measure, message: `must be 0 or more, got ${value}` });
    } else if (measure === "lossRatio" && value > 1) {
      issues.push({ path: measure, message: `must be at most 1, got ${value}` });
    }
  }
  return issues;
}

/**
 * Combines samples taken in the same round by different probes, keeping the
 * worst value of each measure (the highest RTT and loss, the lowest
 * bandwidth): a mode must suit every link it is chosen for.
 *
 * @example
 * ```ts
 * import { mergeSamples } from "./sample.ts";
 * mergeSamples([{ rttMs: 2 }, { rttMs: 7, lossRatio: 0 }]); // { rttMs: 7, lossRatio: 0 }
 * ```
 */
export function mergeSamples(samples: readonly NetworkSample[]): NetworkSample {
  const merged: NetworkSample = {};
  for (const sample of samples) {
    for (const measure of MEASURES) {
      const value = sample[measure];
      if (value === undefined) continue;
      const current = merged[measure];
      merged[measure] = current === undefined ? value : WORST[measure](current, value);
    }
  }
  return merged;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new SwitchyardError("INVALID_ARGUMENT", "median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Keeps the last `size` values of each measure separately and reports their
 * medians, so one outlier never decides anything.
 *
 * @example
 * ```ts
 * import { SampleWindow } from "./sample.ts";
 * const window = new SampleWindow(3);
 * window.push({ rttMs: 2 });
 * window.push({ rttMs: 900 }); // one spike
 * window.push({ rttMs: 3 });
 * window.medians(); // { rttMs: 3 }
 * ```
 */
export class SampleWindow {
  readonly #size: number;
  readonly #values: Record<Measure, number[]> = { rttMs: [], bandwidthMbps: [], lossRatio: [] };

  /** Creates a window that keeps `size` values per measure. */
  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new SwitchyardError("INVALID_ARGUMENT", `SampleWindow size must be a whole number >= 1, got ${size}`);
    }
    this.#size = size;
  }

  /** Adds the measures present in `sample`. */
  push(sample: NetworkSample): void {
    for (const measure of MEASURES) {
      const value = sample[measure];
      if (value === undefined) continue;
      const values = this.#values[measure];
      values.push(value);
      if (values.length > this.#size) values.shift();
    }
  }

  /** The median of each measure seen so far; measures never seen are absent. */
  medians(): NetworkSample {
    const result: NetworkSample = {};
    for (const measure of MEASURES) {
      const values = this.#values[measure];
      if (values.length > 0) result[measure] = median(values);
    }
    return result;
  }

  /** True until the first value of any measure arrives. */
  get empty(): boolean {
    return MEASURES.every((measure) => this.#values[measure].length === 0);
  }

  /** Forgets everything. */
  clear(): void {
    for (const measure of MEASURES) this.#values[measure].length = 0;
  }
}
