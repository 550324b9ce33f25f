/**
 * The admin API's bodies, as valibot schemas: request schemas validate
 * requests; request and response schemas generate the OpenAPI document.
 * Each response schema is checked at compile time against the TypeScript type
 * the handler returns (`Same<…>` below), so the document cannot drift from
 * the code, and a test validates real responses against the document.
 *
 * @module
 */
import * as v from "valibot";
import type { ComponentStatus } from "../../core/control/adapter.ts";
import type { FeatureFlagValues } from "../../core/control/flags.ts";
import type { SwitchRecord } from "../../core/control/history.ts";
import type { PluginRecord } from "../../core/loading/loader.ts";
import type { ModeAgreementStats } from "../../core/contracts/mode_agreement.ts";
import type { DetectionReport, HybridStats } from "../../core/control/manager_stats.ts";
import { MODES } from "../../core/contracts/mode.ts";
import type { ForcedHold, SwitchOutcome } from "../../core/control/orchestrator.ts";
import { PLUGIN_KINDS } from "../../core/loading/plugin.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";
import type { PeerMeasurement } from "../../core/contracts/probe.ts";
import type { LinkStatus } from "../../core/control/link_modes.ts";
import type { AdminCluster, AdminHealth, AdminResume, AdminSamples, AdminStatus, ClusterEvent } from "./client.ts";

/** `POST /mode`: force a mode. */
export const ForceModeBody = v.strictObject({
  /** The mode to hold. */
  mode: v.picklist(MODES, `must be one of ${MODES.join(", ")}`),
  /** Why, for the history. */
  reason: v.pipe(v.string(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(500)),
  /** Release the hold by itself after this long. */
  holdMs: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0, "must be greater than 0"))),
});

/** `PATCH /flags`: change flags. */
export const FlagsPatchBody = v.strictObject({
  /** Off: stay in datacenter mode with v1. */
  enableHybridMode: v.optional(v.boolean()),
  /** Off: only manual switching. */
  enableModeDetection: v.optional(v.boolean()),
  /** Share of nodes (0–100) taking v3 implementations. */
  v3RolloutPercentage: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(100))),
  /** Kill switch: v1 everywhere. */
  forceV1Mode: v.optional(v.boolean()),
});

/** The flags `PATCH /flags` takes, by name. */
export const FLAG_PATCH_NAMES: readonly string[] = Object.keys(FlagsPatchBody.entries);

/** Why `patch` is not a valid `PATCH /flags` body (the first issue), or undefined when it is. */
export function flagsPatchIssue(patch: unknown): string | undefined {
  const result = v.safeParse(FlagsPatchBody, patch);
  return result.success ? undefined : result.issues[0].message;
}

/** The error body every failing route returns. */
export const ErrorBody = v.strictObject({
  error: v.strictObject({
    code: v.string(),
    message: v.string(),
    issues: v.optional(v.array(v.strictObject({ path: v.string(), message: v.string() }))),
  }),
});

const mode = v.picklist(MODES);
const variant = v.picklist(["v1", "v3"]);
const nullable = <T extends v.GenericSchema>(schema: T) => v.union([schema, v.null()]);

/** Measurements: RTT (ms), bandwidth (megabits per second), loss (0–1); each may be missing. */
export const NetworkSampleBody = v.strictObject({
  rttMs: v.optional(v.number()),
  bandwidthMbps: v.optional(v.number()),
  lossRatio: v.optional(v.number()),
});

/** What a probe measured toward one peer: its measures, and why it could not measure, when it could not. */
export const PeerMeasurementBody = v.strictObject({
  ...NetworkSampleBody.entries,
  error: v.optional(v.string()),
});

/** One switch attempt, as `/history` lists it. */
export const SwitchRecordBody = v.strictObject({
  id: v.number(),
  from: mode,
  to: mode,
  fromVariant: variant,
  toVariant: variant,
  reason: v.string(),
  origin: v.picklist(["auto", "forced", "flags"]),
  atMs: v.number(),
  durationMs: v.number(),
  outcome: v.picklist(["success", "failed", "refused"]),
  error: v.optional(v.string()),
  drainTimeouts: v.array(v.string()),
  sample: v.optional(NetworkSampleBody),
  agreement: v.optional(v.strictObject({
    status: v.picklist(["agreed", "pending"]),
    clusterMode: mode,
    waitedMs: v.number(),
  })),
});

/** The cluster's mode agreement: its decision, every member's latest report, the holds, its engine and epoch. */
export const ModeAgreementBody = v.strictObject({
  agreed: v.strictObject({
    mode,
    reason: v.string(),
    index: v.number(),
    forced: v.boolean(),
    summary: NetworkSampleBody,
  }),
  reports: v.record(v.string(), v.strictObject({ atMs: v.number(), summary: NetworkSampleBody })),
  holds: v.record(v.string(), nullable(mode)),
  engine: v.string(),
  epoch: v.number(),
});

/** One link's mode (with `linkModes: "per-peer"`): why, since when, its own medians. */
export const LinkStatusBody = v.strictObject({
  mode,
  reason: v.string(),
  sinceMs: v.number(),
  summary: NetworkSampleBody,
  changes: v.number(),
  error: v.optional(v.string()),
  wanted: v.optional(mode),
});

/** The operator's hold on a mode. */
export const ForcedHoldBody = v.strictObject({
  mode,
  reason: v.string(),
  sinceMs: v.number(),
  untilMs: v.optional(v.number()),
});

/** What a switch request did (`POST /mode`, and inside `POST /detect`). */
export const SwitchOutcomeBody = v.strictObject({
  status: v.picklist(["switched", "failed", "unchanged", "cooldown", "refused", "deferred"]),
  mode,
  reason: v.string(),
  record: v.optional(SwitchRecordBody),
});

/** The feature flags. */
export const FlagsBody = v.strictObject({
  enableHybridMode: v.boolean(),
  enableModeDetection: v.boolean(),
  v3RolloutPercentage: v.number(),
  forceV1Mode: v.boolean(),
});

/** One component and what serves it. */
export const ComponentStatusBody = v.strictObject({
  serving: mode,
  variant,
  state: v.picklist(["registered", "active", "failed"]),
  lastError: v.optional(v.string()),
});

/** `GET /components`. */
export const ComponentsBody = v.record(v.string(), ComponentStatusBody);

/** One manifest plugin's outcome. */
export const PluginRecordBody = v.strictObject({
  id: v.string(),
  module: v.string(),
  state: v.picklist(["pending", "loaded", "failed", "disabled"]),
  version: v.optional(v.string()),
  kind: v.optional(v.picklist(PLUGIN_KINDS)),
  modes: v.optional(v.array(mode)),
  provides: v.optional(v.array(v.string())),
  requires: v.optional(v.array(v.string())),
  stage: v.optional(
    v.picklist([
      "import",
      "integrity",
      "validate",
      "compat",
      "permissions",
      "options",
      "dependencies",
      "create",
      "contract",
    ]),
  ),
  reason: v.optional(v.string()),
});

/** `GET /plugins`. */
export const PluginsBody = v.array(PluginRecordBody);

/** `GET /history`. */
export const HistoryBody = v.array(SwitchRecordBody);

const perMode = <T extends v.GenericSchema>(schema: T) =>
  v.strictObject({ datacenter: schema, internet: schema, hybrid: schema });

/** `GET /stats`: everything `getStats()` reports. */
export const StatsBody = v.strictObject({
  currentMode: mode,
  variant,
  modeChanges: v.number(),
  successfulSwitches: v.number(),
  failedSwitches: v.number(),
  refusedSwitches: v.number(),
  unavailableModes: v.strictObject({
    datacenter: v.optional(v.string()),
    internet: v.optional(v.string()),
    hybrid: v.optional(v.string()),
  }),
  lastModeChange: nullable(v.number()),
  lastModeChangeReason: nullable(v.string()),
  timeInModeMs: perMode(v.number()),
  history: HistoryBody,
  flapping: v.boolean(),
  forced: nullable(ForcedHoldBody),
  drainTimeouts: v.number(),
  cooldownBlocks: v.number(),
  cooldownRemainingMs: v.number(),
  switching: v.boolean(),
  nodeId: v.string(),
  rolloutBucket: v.number(),
  running: v.boolean(),
  initialized: v.boolean(),
  lastSample: nullable(NetworkSampleBody),
  summary: NetworkSampleBody,
  detections: v.number(),
  probeErrors: v.number(),
  probes: v.array(v.strictObject({
    name: v.string(),
    successes: v.number(),
    failures: v.number(),
    timeouts: v.number(),
    lastError: v.optional(v.string()),
    lastSample: v.optional(NetworkSampleBody),
    peers: v.optional(v.record(v.string(), PeerMeasurementBody)),
  })),
  components: ComponentsBody,
  flags: FlagsBody,
  plugins: PluginsBody,
  agreement: v.optional(ModeAgreementBody),
  links: v.optional(v.record(v.string(), LinkStatusBody)),
});

/** `GET /status`: the mode, the hold, the cooldown, the alarm and the thresholds. */
export const StatusBody = v.strictObject({
  nodeId: v.string(),
  mode,
  variant,
  since: nullable(v.number()),
  reason: nullable(v.string()),
  automatic: v.boolean(),
  forced: nullable(ForcedHoldBody),
  running: v.boolean(),
  flapping: v.boolean(),
  nowMs: v.number(),
  cooldownRemainingMs: v.number(),
  lastSample: nullable(NetworkSampleBody),
  summary: NetworkSampleBody,
  unavailableModes: StatsBody.entries.unavailableModes,
  thresholds: v.record(v.string(), v.number()),
});

/** `GET /healthz`. */
export const HealthBody = v.strictObject({ ok: v.boolean(), nodeId: v.string(), running: v.boolean() });

/** `GET /samples`: the recent detection rounds, oldest first, for the dashboard's charts. */
export const SamplesBody = v.strictObject({
  samples: v.array(v.strictObject({ atMs: v.number(), sample: NetworkSampleBody, summary: NetworkSampleBody })),
});

/** One change of the cluster's agreement as this node saw it (`atMs`: this node's clock). */
export const ClusterEventBody = v.variant("kind", [
  v.strictObject({
    kind: v.literal("decision"),
    atMs: v.number(),
    mode,
    from: nullable(mode),
    reason: v.string(),
    index: v.number(),
    forced: v.boolean(),
  }),
  v.strictObject({
    kind: v.literal("engine"),
    atMs: v.number(),
    engine: v.string(),
    epoch: v.number(),
    from: nullable(v.string()),
  }),
  v.strictObject({
    kind: v.literal("report"),
    atMs: v.number(),
    member: v.string(),
    reportedAtMs: v.number(),
    summary: NetworkSampleBody,
  }),
  v.strictObject({ kind: v.literal("force"), atMs: v.number(), member: v.string(), mode: nullable(mode) }),
  v.strictObject({
    kind: v.literal("step"),
    atMs: v.number(),
    switchId: v.number(),
    wanted: mode,
    clusterMode: mode,
    status: v.picklist(["agreed", "pending"]),
  }),
]);

/** `GET /cluster`: the agreement (null without one), the probes' per-peer results, the agreement's recent changes. */
export const ClusterBody = v.strictObject({
  nodeId: v.string(),
  nowMs: v.number(),
  agreement: nullable(ModeAgreementBody),
  probes: v.array(v.strictObject({ name: v.string(), peers: v.record(v.string(), PeerMeasurementBody) })),
  links: v.optional(StatsBody.entries.links),
  events: v.array(ClusterEventBody),
});

/** `DELETE /mode`. */
export const ResumeBody = v.strictObject({ automatic: v.boolean(), mode });

/** `POST /detect`. */
export const DetectionReportBody = v.strictObject({
  sample: NetworkSampleBody,
  summary: NetworkSampleBody,
  probes: v.array(v.strictObject({
    probe: v.string(),
    sample: v.optional(NetworkSampleBody),
    error: v.optional(v.string()),
    timedOut: v.optional(v.boolean()),
    durationMs: v.number(),
  })),
  decision: v.optional(v.strictObject({ mode, reason: v.string(), sample: NetworkSampleBody })),
  outcome: SwitchOutcomeBody,
});

/** True when `A` and `B` are assignable both ways; used as compile-time checks below. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Out<S extends v.GenericSchema> = v.InferOutput<S>;

/**
 * Compile-time proof that every response schema describes exactly the type
 * its handler returns: `deno task check` fails when a core type gains,
 * loses or changes a field that the schema does not.
 */
export const SCHEMAS_MATCH_TYPES: Record<string, true> = {
  sample: true satisfies Same<Out<typeof NetworkSampleBody>, NetworkSample>,
  record: true satisfies Same<Out<typeof SwitchRecordBody>, SwitchRecord>,
  hold: true satisfies Same<Out<typeof ForcedHoldBody>, ForcedHold>,
  outcome: true satisfies Same<Out<typeof SwitchOutcomeBody>, SwitchOutcome>,
  flags: true satisfies Same<Out<typeof FlagsBody>, FeatureFlagValues>,
  component: true satisfies Same<Out<typeof ComponentStatusBody>, ComponentStatus>,
  plugin: true satisfies Same<Out<typeof PluginRecordBody>, PluginRecord>,
  stats: true satisfies Same<Out<typeof StatsBody>, HybridStats>,
  agreement: true satisfies Same<Out<typeof ModeAgreementBody>, ModeAgreementStats>,
  status: true satisfies Same<Out<typeof StatusBody>, AdminStatus>,
  health: true satisfies Same<Out<typeof HealthBody>, AdminHealth>,
  samples: true satisfies Same<Out<typeof SamplesBody>, AdminSamples>,
  peer: true satisfies Same<Out<typeof PeerMeasurementBody>, PeerMeasurement>,
  link: true satisfies Same<Out<typeof LinkStatusBody>, LinkStatus>,
  clusterEvent: true satisfies Same<Out<typeof ClusterEventBody>, ClusterEvent>,
  cluster: true satisfies Same<Out<typeof ClusterBody>, AdminCluster>,
  resume: true satisfies Same<Out<typeof ResumeBody>, AdminResume>,
  detection: true satisfies Same<Out<typeof DetectionReportBody>, DetectionReport>,
};
