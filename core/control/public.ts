/**
 * The parts the manager is made of, for building a different one
 * (`@switchyard/hybrid/control`): the component registry with its graceful
 * hand-over ({@linkcode ModeAwareAdapter}), the switch orchestrator
 * ({@linkcode HybridOrchestrator}), the switch history ({@linkcode History}),
 * one bounded probe round ({@linkcode measureProbes}) and the check of a
 * probe's per-peer results ({@linkcode peerMeasurements}), the sample window and
 * its medians, the rollout bucket, and bounding work in time. Applications
 * use `HybridManager`, which wires all of these.
 *
 * @example
 * ```ts
 * import { measureProbes } from "@switchyard/hybrid/control";
 * import { SystemClock, type Probe } from "@switchyard/hybrid";
 * const probe: Probe = { name: "lan", measure: () => Promise.resolve({ rttMs: 0.4 }) };
 * const round = await measureProbes([probe], new SystemClock(), 1_000);
 * round.sample.rttMs; // 0.4
 * ```
 *
 * @module
 */
export { ModeAwareAdapter } from "./adapter.ts";
export type { RetireOptions, RetireReport, Transition } from "./adapter.ts";
export { HybridOrchestrator } from "./orchestrator.ts";
export type { OrchestratorOptions } from "./orchestrator.ts";
export { History } from "./history.ts";
export { fnv1a32, rolloutBucket } from "./flags.ts";
export { measureProbes, peerMeasurements } from "../contracts/probe.ts";
export type { MeasureRound } from "../contracts/probe.ts";
export { median, mergeSamples, SampleWindow } from "../contracts/sample.ts";
export { implementationKey, variantOf } from "../contracts/component.ts";
export { runWithTimeout } from "../util/timeout.ts";
export type { TimedResult } from "../util/timeout.ts";
