/**
 * What the manager reports: its stats snapshot and the result of one
 * detection round.
 *
 * @module
 */
import type { ModeAgreementStats } from "../contracts/mode_agreement.ts";
import type { ComponentStatus } from "./adapter.ts";
import type { Decision } from "./detector.ts";
import type { FeatureFlagValues } from "./flags.ts";
import type { PeerMeasurement, ProbeResult } from "../contracts/probe.ts";
import type { OrchestratorStats, SwitchOutcome } from "./orchestrator.ts";
import type { PluginRecord } from "./plugin_status.ts";
import type { LinkStatus } from "./link_modes.ts";
import type { NetworkSample } from "../contracts/sample.ts";

/** Per-probe counters. */
export interface ProbeStats {
  /** The probe's name. */
  name: string;
  /** Rounds it succeeded in. */
  successes: number;
  /** Rounds it failed in (timeouts included). */
  failures: number;
  /** Rounds it timed out in. */
  timeouts: number;
  /** Its last error, if any. */
  lastError?: string;
  /** Its last good sample, if any. */
  lastSample?: NetworkSample;
  /**
   * For a probe that measures each peer (it has `peers()`, as probe-rtt and
   * probe-bandwidth do): its last measurement of each peer, read after every
   * round and checked (see `peerMeasurements`).
   */
  peers?: Record<string, PeerMeasurement>;
}

/** Everything {@linkcode HybridManager.getStats} reports. */
export interface HybridStats extends OrchestratorStats {
  /** This node's id. */
  nodeId: string;
  /** Its rollout bucket, 0–99. */
  rolloutBucket: number;
  /** True between `start()` and `stop()`. */
  running: boolean;
  /** True once `initialize()` succeeded. */
  initialized: boolean;
  /** The last round's merged sample, or null before the first. */
  lastSample: NetworkSample | null;
  /** The medians decisions are made from. */
  summary: NetworkSample;
  /** Detection rounds run. */
  detections: number;
  /** Probe failures, in total. */
  probeErrors: number;
  /** Per-probe counters. */
  probes: ProbeStats[];
  /** Every registered component and what serves it. */
  components: Record<string, ComponentStatus>;
  /** The flags now. */
  flags: Readonly<FeatureFlagValues>;
  /** Every plugin of the manifest with its state, version and reason (empty without a manifest). */
  plugins: PluginRecord[];
  /** The cluster's mode agreement, when a component carries one: the decision, every member's report, the holds. */
  agreement?: ModeAgreementStats;
  /**
   * With `linkModes: "per-peer"`: every measured link's mode, why, since
   * when, and its own medians, by peer (as the probes name it).
   */
  links?: Record<string, LinkStatus>;
}

/** What {@linkcode HybridManager.detectNow} found and did. */
export interface DetectionReport {
  /** The merged sample of this round. */
  sample: NetworkSample;
  /** The medians after this round. */
  summary: NetworkSample;
  /** Each probe's result. */
  probes: ProbeResult[];
  /** The detector's decision, or undefined when nothing has been measured. */
  decision?: Decision;
  /** What the orchestrator did with it. */
  outcome: SwitchOutcome;
}
