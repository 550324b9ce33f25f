/**
 * Robust aggregation of the members' network reports, for a cluster-wide
 * mode decision that a Byzantine minority cannot steer.
 *
 * Each member reports its own medians. With `n` reports of which at most `f`
 * may be lies, any value ranked strictly between the `f` lowest and the `f`
 * highest lies between two correct values; the median (the mean of the middle
 * two for an even count, both of which are such values) lies there as soon as
 * `n ≥ 2f + 1`. So per measure, the summary is the median of the members'
 * values when at least `2f + 1` members reported it, and unknown otherwise: `f` liars can move it only within the range the correct
 * members measured, and `f` members withholding their reports cannot block a
 * decision while `2f + 1` others report. Reports from non-members are left
 * out and named.
 *
 * @example
 * ```ts
 * import { robustSummary } from "./robust_summary.ts";
 * const reports = new Map([
 *   ["a", { rttMs: 0.3 }],
 *   ["b", { rttMs: 0.4 }],
 *   ["c", { rttMs: 0.5 }],
 *   ["d", { rttMs: 900 }], // a liar
 * ]);
 * robustSummary(reports, { members: ["a", "b", "c", "d"], faultTolerance: 1 }).sample.rttMs; // 0.45
 * ```
 *
 * @module
 */
import { type FieldIssue, ValidationError } from "../util/errors.ts";
import { type Measure, MEASURES, median, type NetworkSample } from "../contracts/sample.ts";

/** Who counts, and how many of them may lie. */
export interface RobustSummaryOptions {
  /** The current members; only their reports count. */
  members: readonly string[];
  /** `f`: members whose reports may be arbitrary (0 for crash faults only). */
  faultTolerance: number;
}

/** The aggregated sample and what went into it. */
export interface RobustSummary {
  /** Per measure, the median of the members' values; absent where fewer than `2f + 1` reported it. */
  sample: NetworkSample;
  /** Per measure, how many members' values were aggregated. */
  reporters: Partial<Record<Measure, number>>;
  /** Reports required per measure: `2f + 1`. */
  required: number;
  /** Reporters that are not members, left out. */
  ignored: string[];
}

/** What is wrong with `members` and `faultTolerance`, each issue naming its field (none when both are fine). */
export function membershipIssues(options: RobustSummaryOptions): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!Number.isInteger(options.faultTolerance) || options.faultTolerance < 0) {
    issues.push({ path: "faultTolerance", message: `must be a non-negative integer, got ${options.faultTolerance}` });
  }
  if (options.members.length === 0 || new Set(options.members).size !== options.members.length) {
    issues.push({ path: "members", message: "must name at least one member, each once" });
  }
  return issues;
}

/**
 * Aggregates `reports` (member id → that member's medians). Throws a
 * `ValidationError` when `faultTolerance` is not a non-negative integer or
 * `members` is empty or repeats an id.
 */
export function robustSummary(
  reports: ReadonlyMap<string, NetworkSample>,
  options: RobustSummaryOptions,
): RobustSummary {
  const { members, faultTolerance } = options;
  const issues = membershipIssues(options);
  if (issues.length > 0) throw new ValidationError("INVALID_ARGUMENT", "robustSummary options", issues);
  const memberSet = new Set(members);
  const required = 2 * faultTolerance + 1;
  const sample: NetworkSample = {};
  const reporters: Partial<Record<Measure, number>> = {};
  for (const measure of MEASURES) {
    const values: number[] = [];
    for (const [member, report] of reports) {
      const value = report[measure];
      if (memberSet.has(member) && typeof value === "number" && Number.isFinite(value)) values.push(value);
    }
    reporters[measure] = values.length;
    if (values.length >= required) sample[measure] = median(values);
  }
  const ignored = [...reports.keys()].filter((reporter) => !memberSet.has(reporter));
  return { sample, reporters, required, ignored };
}
