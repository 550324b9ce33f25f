/**
 * Compliance suites for plugin authors: the same checks every built-in
 * plugin passes. Register them with `runCompliance` (Deno.test by default,
 * or your runner's test function).
 *
 * Time: `pluginCompliance` gives the plugin real time (`context.clock` is a
 * `SystemClock`) unless its third argument passes a clock, so a plugin that
 * times through `context.clock` passes as it runs in production; a
 * `ManualClock` passed in is yours to advance. `createPluginContext` and
 * `instantiate`, for your own tests, default to a `ManualClock`. The
 * consensus suite moves time only through its harness's `advance`.
 *
 * @example
 * ```ts ignore
 * import plugin from "./my_plugin.ts";
 * import { pluginCompliance, runCompliance } from "@switchyard/hybrid/testing";
 * runCompliance(plugin.id, pluginCompliance(plugin, { level: 3 }));
 * ```
 *
 * @module
 */
export { runCompliance } from "./case.ts";
export type { ComplianceCase, TestRegistrar } from "./case.ts";
export { compressorCompliance, randomBytes, sampleJson } from "./compressor.ts";
export type { CompressorComplianceOptions } from "./compressor.ts";
export { probeCompliance } from "./probe.ts";
export type { ProbeComplianceOptions } from "./probe.ts";
export { createPluginContext, instantiate, pluginCompliance } from "./plugin.ts";
export type { TestContextOptions } from "./plugin.ts";
export { transportCompliance } from "./transport.ts";
export { consensusCompliance, RecordingMachine } from "./consensus.ts";
export type { ConsensusCluster, ConsensusHarness } from "./consensus.ts";
export type { TransportHarness } from "./transport.ts";
export { checkLinearizable, settleUnknownWrites } from "./linearizability.ts";
export type { KvOperation, LinearizabilityResult } from "./linearizability.ts";
