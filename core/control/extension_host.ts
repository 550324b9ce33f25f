/**
 * What an `extension` plugin (an admin endpoint, an exporter) may read and do
 * on its node: the node's identity, configuration and flags, its stats and
 * events, and the operator's actions (force a mode, resume, detect now). The
 * manager implements it; an extension never receives the manager itself.
 *
 * @module
 */
import type { Mode } from "../contracts/mode.ts";
import type { Clock } from "../util/clock.ts";
import type { Unsubscribe } from "../util/events.ts";
import type { Logger } from "../util/logger.ts";
import type { HybridConfig } from "./config.ts";
import type { FeatureFlags } from "./flags.ts";
import type { ManagerEvents } from "./manager_events.ts";
import type { Metrics } from "./metrics.ts";
import type { DetectionReport, HybridStats } from "./manager_stats.ts";
import type { SwitchOutcome } from "./orchestrator.ts";

/** A node as its extensions see it. */
export interface ExtensionHost {
  /** This node's id. */
  readonly nodeId: string;
  /** The validated configuration (thresholds, timings). */
  readonly config: HybridConfig;
  /** The node's time source; extensions time through it. */
  readonly clock: Clock;
  /** The node's logger. */
  readonly logger: Logger;
  /** The node's metrics (core and plugins), for exporters. */
  readonly metrics: Metrics;
  /** The run-time feature flags, readable and settable. */
  readonly flags: FeatureFlags;
  /** The mode served now. */
  readonly currentMode: Mode;
  /** The mode of the link to `peer`: its own with `linkModes: "per-peer"`, else the node's. */
  linkMode(peer: string): Mode;
  /** A snapshot of the node's state. */
  getStats(): HybridStats;
  /** Listens to one kind of event; returns a function that stops listening. */
  on<K extends keyof ManagerEvents>(event: K, listener: (payload: ManagerEvents[K]) => void): Unsubscribe;
  /** Switches to `mode` now and holds it (until resumed, or for `holdMs`). */
  forceMode(mode: Mode, reason?: string, options?: { holdMs?: number }): Promise<SwitchOutcome>;
  /** Releases a forced mode. */
  resumeAutoDetection(): void;
  /** Measures every probe now and applies the decision. */
  detectNow(): Promise<DetectionReport>;
}
