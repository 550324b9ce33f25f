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
export { isMode, Mode, MODES, perMode } from "./core/contracts/mode.ts";
export type { PerMode } from "./core/contracts/mode.ts";
export { modeAgreementOf } from "./core/contracts/mode_agreement.ts";
export type { ClusterModeDecision, ModeAgreement, ModeAgreementStats } from "./core/contracts/mode_agreement.ts";
export { ManualClock, sleep, SystemClock } from "./core/util/clock.ts";
export type { Clock, TimerId } from "./core/util/clock.ts";
export { LINK_MODE_SCOPES, resolveConfig } from "./core/control/config.ts";
export type { HybridConfig, HybridConfigInput, LinkModeScope } from "./core/control/config.ts";
export { LinkModes, MAX_LINKS } from "./core/control/link_modes.ts";
export type { LinkChange, LinkStatus } from "./core/control/link_modes.ts";
export { SwitchyardError, ValidationError } from "./core/util/errors.ts";
export { ConsensusError } from "./core/contracts/consensus.ts";
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
} from "./core/contracts/consensus.ts";
export { bytesResultCodec, jsonResultCodec } from "./core/contracts/result_codec.ts";
export type { ResultCodec } from "./core/contracts/result_codec.ts";
export { defineErrorCodes, ERROR_CODE_PATTERN, ERROR_CODES } from "./core/util/errors.ts";
export type { ErrorCode, ErrorCodes, FieldIssue } from "./core/util/errors.ts";
export { MEASURES } from "./core/contracts/sample.ts";
export type { Measure, NetworkSample } from "./core/contracts/sample.ts";
export { classify, ModeDetector } from "./core/control/detector.ts";
export { robustSummary } from "./core/control/robust_summary.ts";
export type { RobustSummary, RobustSummaryOptions } from "./core/control/robust_summary.ts";
export { ModeTally } from "./core/control/mode_tally.ts";
export type {
  AgreedMode,
  IgnoredReason,
  ModeForceEntry,
  ModeReportEntry,
  ModeTallyEntry,
  ModeTallyOptions,
  ModeTallyStats,
} from "./core/control/mode_tally.ts";
export type { Decision, Thresholds } from "./core/control/detector.ts";
export type { PeerMeasurement, Probe, ProbeResult } from "./core/contracts/probe.ts";
export { DEFAULT_FLAGS, FeatureFlags } from "./core/control/flags.ts";
export type { FeatureFlagsPatch, FeatureFlagValues } from "./core/control/flags.ts";
export { TypedEmitter } from "./core/util/events.ts";
export type { Unsubscribe } from "./core/util/events.ts";
export { consoleLogger, silentLogger } from "./core/util/logger.ts";
export type { LogFields, Logger, LogLevel } from "./core/util/logger.ts";
export { componentKey } from "./core/contracts/component.ts";
export type { ComponentKey, Implementations, Lifecycle, Selection, Variant } from "./core/contracts/component.ts";
export type { ComponentStatus } from "./core/control/adapter.ts";
export type { SwitchOrigin, SwitchRecord } from "./core/control/history.ts";
export type {
  AgreementEvent,
  CooldownEvent,
  DrainTimeoutEvent,
  FlappingEvent,
  ManagerEvents,
  ProbeErrorEvent,
  SampleEvent,
} from "./core/control/manager_events.ts";
export type {
  ForcedHold,
  ModeChangeCallback,
  ModeChangeEvent,
  OrchestratorStats,
  SwitchOutcome,
} from "./core/control/orchestrator.ts";
export { HybridManager } from "./core/control/manager.ts";
export type { HybridManagerOptions } from "./core/control/manager.ts";
export type { DetectionReport, HybridStats, ProbeStats } from "./core/control/manager_stats.ts";
export type { ExtensionHost } from "./core/control/extension_host.ts";
export type { OwnedPlugins, PluginRecord, PluginStage } from "./core/control/plugin_status.ts";
export { fromManifest } from "./runtime/from_manifest.ts";
export type { FromManifestOptions } from "./runtime/from_manifest.ts";
export { seededRandom } from "./core/util/random.ts";
export type { Random } from "./core/util/random.ts";
export { definePlugin, PERMISSIONS, PLUGIN_KINDS } from "./core/loading/plugin.ts";
export type {
  AnyPlugin,
  Extension,
  ExtensionContext,
  Permission,
  Plugin,
  PluginContext,
  PluginContextOf,
  PluginInstance,
  PluginInstances,
  PluginKind,
} from "./core/loading/plugin.ts";
export { capability, TRANSPORT_CAPABILITY } from "./core/loading/capability.ts";
export type { Capability } from "./core/loading/capability.ts";
export type { StandardIssue, StandardResult, StandardSchema } from "./core/util/standard_schema.ts";
export { parseManifest } from "./core/loading/manifest.ts";
export type { Manifest, ManifestEntry, ManifestSlots } from "./core/loading/manifest.ts";
export type { BuiltinModules, ModuleHost, ReadFileOptions } from "./core/loading/loader.ts";
export { COMPRESSION, CONSENSUS, TRANSPORT } from "./core/loading/slots.ts";
export { CORE_VERSION } from "./core/util/version.ts";
export { currentRuntime, RUNTIMES } from "./core/util/runtime.ts";
export type { Runtime } from "./core/util/runtime.ts";
export { satisfies } from "./core/util/semver.ts";
export { MetricsRegistry } from "./core/control/metrics.ts";
export type { Labels, MetricPoint, Metrics } from "./core/control/metrics.ts";
export { childLogger } from "./core/util/logger.ts";
export { DEFAULT_MAX_DECOMPRESSED_BYTES, framedCompressor } from "./core/contracts/compressor.ts";
export type { Codec, Compressor, FramedCompressorOptions } from "./core/contracts/compressor.ts";
export { decodeFrameHeader, encodeFrame, FRAME_VERSION } from "./core/contracts/frame.ts";
export type { FrameHeader } from "./core/contracts/frame.ts";
export type { ConnectionStats, Transport, TransportConnection, TransportListener } from "./core/contracts/transport.ts";
