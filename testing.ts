/**
 * Compliance suites for plugin authors: the same checks every built-in
 * plugin passes. Register them with `runCompliance` (Deno.test by default,
 * or your runner's test function).
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
export { runCompliance } from "./tests/compliance/case.ts";
export type { ComplianceCase, TestRegistrar } from "./tests/compliance/case.ts";
export { compressorCompliance, randomBytes, sampleJson } from "./tests/compliance/compressor.ts";
export type { CompressorComplianceOptions } from "./tests/compliance/compressor.ts";
export { probeCompliance } from "./tests/compliance/probe.ts";
export type { ProbeComplianceOptions } from "./tests/compliance/probe.ts";
export { createPluginContext, instantiate, pluginCompliance } from "./tests/compliance/plugin.ts";
export type { TestContextOptions } from "./tests/compliance/plugin.ts";
export { transportCompliance } from "./tests/compliance/transport.ts";
export { consensusCompliance, RecordingMachine } from "./tests/compliance/consensus.ts";
export type { ConsensusCluster, ConsensusHarness } from "./tests/compliance/consensus.ts";
export type { TransportHarness } from "./tests/compliance/transport.ts";
