/**
 * Switchyard keeps a distributed application on the communication stack that
 * fits its network: datacenter (Raft, RDMA, LZ4), internet (PBFT, TCP with
 * BBR, zstd) or hybrid, switching automatically from measured latency,
 * bandwidth and loss, with hysteresis, cooldown and graceful drain.
 *
 * @example
 * ```ts
 * import { HybridManager } from "@switchyard/hybrid";
 * const manager = new HybridManager({
 *   nodeId: "node-1",
 *   probes: [{ name: "lan", measure: async () => ({ rttMs: 0.4, bandwidthMbps: 25_000, lossRatio: 0 }) }],
 * });
 * manager.registerComponent("codec", { name: "lz4" }, { name: "zstd" });
 * manager.onModeChange(({ from, to, reason }) => console.log(`${from} -> ${to}: ${reason}`));
 * await manager.start();
 * ```
 *
 * @module
 */
export { isMode, Mode, MODES, perMode } from "./core/mode.ts";
export type { PerMode } from "./core/mode.ts";
export { ManualClock, sleep, SystemClock } from "./core/clock.ts";
export type { Clock, TimerId } from "./core/clock.ts";
export { runWithTimeout } from "./core/timeout.ts";
export type { TimedResult } from "./core/timeout.ts";
export { resolveConfig } from "./core/config.ts";
export type { HybridConfig, HybridConfigInput } from "./core/config.ts";
export { SwitchyardError, ValidationError } from "./core/errors.ts";
export { ConsensusError } from "./core/consensus.ts";
export type {
  ClientRequest,
  Committed,
  Consensus,
  ConsensusCallOptions,
  ConsensusEngine,
  ConsensusRole,
  ConsensusStateMachine,
  ConsensusStats,
  LogPosition,
  NodeId,
  ProposeOptions,
} from "./core/consensus.ts";
export { bytesResultCodec, jsonResultCodec } from "./core/result_codec.ts";
export type { ResultCodec } from "./core/result_codec.ts";
export {
  clientRequestOf,
  decodeClientCommand,
  encodeClientCommand,
  encodeProposal,
  MAX_CLIENT_ID_LENGTH,
} from "./core/client_command.ts";
export type { ClientCommand } from "./core/client_command.ts";
export { ClientTable, DEFAULT_CLIENT_TABLE_LIMITS } from "./core/client_table.ts";
export type { Admission, CachedOutcome, ClientRecord, ClientTableLimits } from "./core/client_table.ts";
export { DeduplicatingStateMachine } from "./core/deduplicating_machine.ts";
export type { ApplyOutcome, DeduplicationOptions, DeduplicationStats } from "./core/deduplicating_machine.ts";
export type { ErrorCode, FieldIssue } from "./core/errors.ts";
export { MEASURES, median, mergeSamples, SampleWindow } from "./core/sample.ts";
export type { Measure, NetworkSample } from "./core/sample.ts";
export { classify, ModeDetector } from "./core/detector.ts";
export type { Decision, Thresholds } from "./core/detector.ts";
export { measureProbes } from "./core/probe.ts";
export type { MeasureRound, Probe } from "./core/probe.ts";
export { DEFAULT_FLAGS, FeatureFlags, fnv1a32, rolloutBucket } from "./core/flags.ts";
export type { FeatureFlagsPatch, FeatureFlagValues } from "./core/flags.ts";
export { TypedEmitter } from "./core/events.ts";
export type { Unsubscribe } from "./core/events.ts";
export { consoleLogger, silentLogger } from "./core/logger.ts";
export type { LogFields, Logger, LogLevel } from "./core/logger.ts";
export { implementationKey, variantOf } from "./core/component.ts";
export type { Implementations, Lifecycle, Selection, Variant } from "./core/component.ts";
export { ModeAwareAdapter } from "./core/adapter.ts";
export type { ComponentStatus, RetireOptions, RetireReport, Transition } from "./core/adapter.ts";
export { History } from "./core/history.ts";
export type { SwitchOrigin, SwitchRecord } from "./core/history.ts";
export type {
  CooldownEvent,
  DrainTimeoutEvent,
  FlappingEvent,
  ManagerEvents,
  ProbeErrorEvent,
  ProbeResult,
  SampleEvent,
} from "./core/manager_events.ts";
export { HybridOrchestrator } from "./core/orchestrator.ts";
export type {
  ForcedHold,
  ModeChangeCallback,
  ModeChangeEvent,
  OrchestratorOptions,
  OrchestratorStats,
  SwitchOutcome,
} from "./core/orchestrator.ts";
export { HybridManager } from "./core/manager.ts";
export type {
  DetectionReport,
  FromManifestOptions,
  HybridManagerOptions,
  HybridStats,
  ProbeStats,
} from "./core/manager.ts";
export { ResumableConnection, resumableTransport } from "./core/resumable.ts";
export type { ResumeHandshake, ResumeOptions } from "./core/resumable.ts";
export { seededRandom } from "./core/random.ts";
export type { Random } from "./core/random.ts";
export { definePlugin, PERMISSIONS, PLUGIN_KINDS } from "./core/plugin.ts";
export type { Permission, Plugin, PluginContext, PluginKind } from "./core/plugin.ts";
export type { StandardIssue, StandardResult, StandardSchema } from "./core/standard_schema.ts";
export { parseManifest } from "./core/manifest.ts";
export type { Manifest, ManifestEntry, ManifestSlots } from "./core/manifest.ts";
export { integrityOf, loadPlugins } from "./core/loader.ts";
export type {
  BuiltinModules,
  LoadedPlugins,
  LoaderOptions,
  ModuleHost,
  PluginRecord,
  PluginStage,
  ReadFileOptions,
} from "./core/loader.ts";
export { UnavailableImplementation } from "./core/slots.ts";
export { CORE_VERSION } from "./core/version.ts";
export { currentRuntime, RUNTIMES } from "./core/runtime.ts";
export type { Runtime } from "./core/runtime.ts";
export { satisfies } from "./core/semver.ts";
export { MetricsRegistry } from "./core/metrics.ts";
export type { Labels, MetricPoint, Metrics } from "./core/metrics.ts";
export { childLogger } from "./core/logger.ts";
export { DEFAULT_MAX_DECOMPRESSED_BYTES, framedCompressor } from "./core/compressor.ts";
export type { Codec, Compressor, FramedCompressorOptions } from "./core/compressor.ts";
export { decodeFrameHeader, encodeFrame, FRAME_VERSION } from "./core/frame.ts";
export type { FrameHeader } from "./core/frame.ts";
export { xxhash32 } from "./core/xxhash32.ts";
export { manifestJsonSchema } from "./core/manifest_json_schema.ts";
export type { ConnectionStats, Transport, TransportConnection, TransportListener } from "./core/transport.ts";
export {
  FrameBudgetPool,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
  lengthPrefixed,
  oversizedSend,
} from "./core/length_prefix.ts";
export type { FrameBudget } from "./core/length_prefix.ts";
export { AsyncQueue } from "./core/async_queue.ts";
export { emptyConnectionStats } from "./core/transport.ts";
