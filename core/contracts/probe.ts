/**
 * The probe contract and one bounded, fault-isolated measurement round.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { type FieldIssue, toError, ValidationError } from "../util/errors.ts";
import { MEASURES, mergeSamples, type NetworkSample, sampleIssues } from "./sample.ts";
import { runWithTimeout } from "../util/timeout.ts";

/** What one probe returned in a detection round. */
export interface ProbeResult {
  /** The probe's name. */
  probe: string;
  /** The sample, when it succeeded. */
  sample?: NetworkSample;
  /** Why it failed, when it did. */
  error?: string;
  /** True when it failed by exceeding `probeTimeoutMs`. */
  timedOut?: boolean;
  /** How long it took. */
  durationMs: number;
}

/**
 * Measures some part of the network. Return only the measures you have;
 * honour `signal` (it aborts at `probeTimeoutMs` or when the manager stops).
 *
 * @example
 * ```ts
 * import type { Probe } from "./probe.ts";
 * const fixed: Probe = { name: "fixed", measure: () => Promise.resolve({ rttMs: 2 }) };
 * ```
 */
export interface Probe {
  /** Unique name, used in stats, events and logs. */
  name: string;
  /** Takes one measurement. */
  measure(signal?: AbortSignal): Promise<NetworkSample>;
  /**
   * Optional, for probes that measure each peer (probe-rtt, probe-bandwidth):
   * the last measurement toward each peer, by peer. The manager reads it
   * after every round into `getStats().probes[].peers`, checked with
   * {@linkcode peerMeasurements}.
   */
  peers?(): Record<string, PeerMeasurement>;
}

/** What a probe measured toward one peer: the measures it has, and why it could not measure, when it could not. */
export interface PeerMeasurement extends NetworkSample {
  /** Why the peer could not be measured (or not fully). */
  error?: string;
}

/** Peers kept per probe, the longest peer name kept, and the longest per-peer error kept (longer ones are cut). */
const MAX_PROBE_PEERS = 256, MAX_PEER_NAME_LENGTH = 256, MAX_PEER_ERROR_LENGTH = 500;

/**
 * Checks what a probe's `peers()` returned and keeps what is sound: at most
 * 256 peers, named by non-empty strings of at most 256 characters, each
 * with only its valid measures (finite, not negative, a loss ratio at most
 * 1) and its `error` cut to 500 characters; other fields are dropped.
 * `dropped` counts the peers and measures left out.
 *
 * @example
 * ```ts
 * import { peerMeasurements } from "./probe.ts";
 * peerMeasurements({ "10.0.0.2:7000": { rttMs: 0.4, lossRatio: 2, samplesMbps: [] } });
 * // { peers: { "10.0.0.2:7000": { rttMs: 0.4 } }, dropped: 1 }
 * ```
 */
export function peerMeasurements(value: unknown): { peers: Record<string, PeerMeasurement>; dropped: number } {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { peers: {}, dropped: 1 };
  const kept: [string, PeerMeasurement][] = [];
  let dropped = 0;
  for (const [peer, result] of Object.entries(value)) {
    if (kept.length >= MAX_PROBE_PEERS || peer === "" || peer.length > MAX_PEER_NAME_LENGTH) {
      dropped++;
      continue;
    }
    if (typeof result !== "object" || result === null) {
      dropped++;
      continue;
    }
    const record = result as Record<string, unknown>;
    const measurement: PeerMeasurement = {};
    for (const measure of MEASURES) {
      if (record[measure] === undefined) continue;
      if (sampleIssues({ [measure]: record[measure] }).length > 0) dropped++;
      else measurement[measure] = record[measure] as number;
    }
    if (typeof record.error === "string") {
      measurement.error = record.error.length <= MAX_PEER_ERROR_LENGTH
        ? record.error
        : `${record.error.slice(0, MAX_PEER_ERROR_LENGTH)}…`;
    }
    kept.push([peer, measurement]);
  }
  // fromEntries defines own properties, so a peer named "__proto__" stays a peer.
  return { peers: Object.fromEntries(kept), dropped };
}

/** Checks a list of probes: each needs a unique non-empty name and a `measure` function. */
export function validateProbes(probes: unknown): Probe[] {
  if (!Array.isArray(probes)) {
    throw new ValidationError("INVALID_ARGUMENT", "HybridManager options", [
      { path: "probes", message: "must be an array of { name, measure }" },
    ]);
  }
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  probes.forEach((probe, index) => {
    const name = (probe as Probe | null)?.name;
    if (typeof name !== "string" || name.trim() === "") {
      issues.push({ path: `probes.${index}.name`, message: "must be a non-empty string" });
    } else if (seen.has(name)) {
      issues.push({ path: `probes.${index}.name`, message: `"${name}" is used by another probe` });
    } else {
      seen.add(name);
    }
    if (typeof (probe as Probe | null)?.measure !== "function") {
      issues.push({ path: `probes.${index}.measure`, message: "must be a function" });
    }
  });
  if (issues.length > 0) throw new ValidationError("INVALID_ARGUMENT", "HybridManager options", issues);
  return [...probes];
}

/** The outcome of one round over all probes. */
export interface MeasureRound {
  /** The worst value of each measure across the probes that succeeded. */
  sample: NetworkSample;
  /** Each probe's result, in probe order. */
  results: ProbeResult[];
}

/**
 * Measures every probe in parallel, each bounded by `timeoutMs`. A probe that
 * throws, times out or returns an invalid sample yields an `error` result;
 * it never fails the round.
 *
 * @example
 * ```ts
 * import { measureProbes } from "./probe.ts";
 * import { SystemClock } from "../util/clock.ts";
 * const round = await measureProbes([{ name: "p", measure: async () => ({ rttMs: 1 }) }], new SystemClock(), 1000);
 * round.sample.rttMs; // 1
 * ```
 */
export async function measureProbes(
  probes: readonly Probe[],
  clock: Clock,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<MeasureRound> {
  const results = await Promise.all(probes.map(async (probe): Promise<ProbeResult> => {
    const startedMs = clock.now();
    const elapsed = () => clock.now() - startedMs;
    try {
      const outcome = await runWithTimeout(clock, timeoutMs, (probeSignal) => probe.measure(probeSignal), signal);
      if (outcome.timedOut) {
        return { probe: probe.name, error: `timed out after ${timeoutMs} ms`, timedOut: true, durationMs: elapsed() };
      }
      const issues = sampleIssues(outcome.value);
      if (issues.length > 0) {
        const detail = issues.map((issue) => `${issue.path || "sample"} ${issue.message}`).join("; ");
        return { probe: probe.name, error: `returned an invalid sample: ${detail}`, durationMs: elapsed() };
      }
      return { probe: probe.name, sample: { ...outcome.value }, durationMs: elapsed() };
    } catch (error) {
      return { probe: probe.name, error: toError(error).message, durationMs: elapsed() };
    }
  }));
  const samples = results.flatMap((result) => result.sample ? [result.sample] : []);
  return { sample: mergeSamples(samples), results };
}
