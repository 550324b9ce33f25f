/**
 * What the main job prints: the link of a phase, the progress line, and the
 * summary's figures (time in each mode, latency per mode) from the
 * decisions and the client history.
 *
 * @module
 */
import type { Mode } from "@switchyard/hybrid";
import type { KvOperation } from "@switchyard/hybrid/testing";
import type { Decision, NodeView } from "./watch.ts";
import type { LinkExpectation, ScenarioPhase } from "./scenario.ts";

/** `12.3s`, right-aligned, from the start of the run. */
export function stamp(elapsedMs: number): string {
  return `[${(elapsedMs / 1000).toFixed(1).padStart(6)}s]`;
}

/** What a phase's links should be on, in words: "datacenter inside racks, internet between them". */
export function describeLinks(expectation: LinkExpectation): string {
  return expectation.wan === undefined
    ? `every link ${expectation.rack}`
    : `${expectation.rack} inside racks, ${expectation.wan} between them`;
}

/** A phase's link in words: "rtt 120 ms ±5, 40 Mbit/s, loss 2%". */
export function describeLink(phase: ScenarioPhase): string {
  const jitter = phase.jitterMs ? ` ±${phase.jitterMs}` : "";
  const bandwidth = phase.bandwidthMbps > 0 ? `${phase.bandwidthMbps} Mbit/s` : "unlimited bandwidth";
  return `rtt ${phase.rttMs} ms${jitter}, ${bandwidth}, loss ${((phase.lossRatio ?? 0) * 100).toFixed(1)}%`;
}

/** A robust summary in words. */
export function describeSample(sample: { rttMs?: number; bandwidthMbps?: number; lossRatio?: number }): string {
  const parts = [];
  if (sample.rttMs !== undefined) parts.push(`rtt ${sample.rttMs.toFixed(1)} ms`);
  if (sample.bandwidthMbps !== undefined) parts.push(`${sample.bandwidthMbps.toFixed(0)} Mbit/s`);
  if (sample.lossRatio !== undefined) parts.push(`loss ${(sample.lossRatio * 100).toFixed(1)}%`);
  return parts.join(", ") || "no measurements";
}

/** One node in the progress line: `n1 datacenter/raft#0 L` (L: leader or PBFT primary; `down` when it did not answer). */
export function describeNode(view: NodeView): string {
  if (!view.up) return `${view.id} down`;
  const role = view.role === "leader" ? " L" : "";
  return `${view.id} ${view.agreed?.mode ?? "?"}/${view.engine ?? "?"}#${view.epoch ?? "?"}${role}`;
}

/**
 * How long the cluster spent in each mode between `startMs` and `endMs`,
 * from its decisions (the initial mode until the first).
 */
export function timeInModes(
  initial: Mode,
  decisions: readonly Decision[],
  startMs: number,
  endMs: number,
): Record<Mode, number> {
  const totals: Record<Mode, number> = { datacenter: 0, hybrid: 0, internet: 0 };
  let mode = initial;
  let since = startMs;
  for (const decision of decisions) {
    totals[mode] += Math.max(0, decision.seenAtMs - since);
    mode = decision.agreed.mode;
    since = decision.seenAtMs;
  }
  totals[mode] += Math.max(0, endMs - since);
  return totals;
}

/** The mode in force at `atMs`, by the decisions. */
export function modeAt(initial: Mode, decisions: readonly Decision[], atMs: number): Mode {
  let mode = initial;
  for (const decision of decisions) {
    if (decision.seenAtMs > atMs) break;
    mode = decision.agreed.mode;
  }
  return mode;
}

/** The `q` quantile (0–1) of `values`, nearest rank; undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The latencies of the completed operations of `history`, grouped by the mode in force when each was called. */
export function latenciesByMode(
  initial: Mode,
  decisions: readonly Decision[],
  history: readonly KvOperation[],
): Record<Mode, number[]> {
  const byMode: Record<Mode, number[]> = { datacenter: [], hybrid: [], internet: [] };
  for (const op of history) {
    if (!Number.isFinite(op.returnMs) || op.clientId === "final") continue;
    byMode[modeAt(initial, decisions, op.callMs)].push(op.returnMs - op.callMs);
  }
  return byMode;
}
