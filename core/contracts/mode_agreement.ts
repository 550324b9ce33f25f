/**
 * The cluster's agreement on its mode: what a component that decides
 * cluster-wide (the adaptive consensus engine) offers the manager. Each node
 * reports its own medians; the cluster decides the mode from all the
 * members' reports, so one node alone never changes what the whole cluster
 * runs (its consensus engine). The manager reports its medians at every
 * switch of its own and waits, up to `agreementTimeoutMs`, for the cluster's
 * decision; its stats, events and the admin endpoint show the reports, the
 * holds and the decision. Components that only need local agreement
 * (compression, a link's transport) keep switching on the node's decision.
 *
 * @module
 */
import type { Mode } from "./mode.ts";
import type { NetworkSample } from "./sample.ts";

/** A mode the cluster agreed on. */
export interface ClusterModeDecision {
  /** The mode. */
  mode: Mode;
  /** Why: the classification of the members' robust summary, or a hold's reason. */
  reason: string;
  /** The position in the cluster's log where it was decided (0 for the initial mode). */
  index: number;
  /** True while `f + 1` members hold the cluster in it. */
  forced: boolean;
  /** The members' robust summary it was decided from (empty for the initial and held modes). */
  summary: NetworkSample;
}

/** What the agreement holds now. */
export interface ModeAgreementStats {
  /** The cluster's decision. */
  agreed: ClusterModeDecision;
  /** Each member's latest report: its medians, and when it measured (its clock, ms). */
  reports: Record<string, { atMs: number; summary: NetworkSample }>;
  /** Members asking for a hold, and in which mode (null: a release). */
  holds: Record<string, Mode | null>;
  /** What runs the cluster's consensus now, e.g. `"raft"` or `"pbft"`. */
  engine: string;
  /** How many times the cluster changed engines (the epoch). */
  epoch: number;
}

/** A cluster-wide mode agreement. */
export interface ModeAgreement {
  /** Puts this node's medians before the cluster now. Resolves once they are in its log (or handed to its leader). */
  report(summary: NetworkSample): Promise<unknown>;
  /** The decision, every member's report and the holds. */
  agreementStats(): ModeAgreementStats;
  /**
   * Optional: asks the cluster, for this member's operator, to hold `mode`
   * (`null` releases the hold); a hold takes effect once enough members
   * (`f + 1`) ask for the same mode. The manager calls it from `forceMode`
   * and `resumeAutoDetection`, so an operator's force on enough nodes
   * moves the whole cluster.
   */
  force?(mode: Mode | null, reason: string): Promise<unknown>;
}

/**
 * The agreement `component` carries, if any: the component itself, or its
 * `agreement` property (a consensus plugin's engine exposes the replica it
 * made there), when that has `report` and `agreementStats`.
 */
export function modeAgreementOf(component: unknown): ModeAgreement | undefined {
  const isAgreement = (value: unknown): value is ModeAgreement =>
    typeof value === "object" && value !== null &&
    typeof (value as ModeAgreement).report === "function" &&
    typeof (value as ModeAgreement).agreementStats === "function";
  if (isAgreement(component)) return component;
  const carried = typeof component === "object" && component !== null
    ? (component as { agreement?: unknown }).agreement
    : undefined;
  return isAgreement(carried) ? carried : undefined;
}
