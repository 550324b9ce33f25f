/**
 * The events the manager emits, one typed map for all of them.
 *
 * @module
 */
import type { ProbeResult } from "../contracts/probe.ts";
import type { SwitchRecord } from "./history.ts";
import type { Mode } from "../contracts/mode.ts";
import type { NetworkSample } from "../contracts/sample.ts";
import type { LinkChange } from "./link_modes.ts";

/** A detection round's measurements. */
export interface SampleEvent {
  /** When the round finished. */
  atMs: number;
  /** The worst value of each measure across probes, this round. */
  sample: NetworkSample;
  /** The medians over the sample window, which decisions use. */
  summary: NetworkSample;
  /** Every probe's result. */
  probes: ProbeResult[];
}

/** A probe that threw, returned garbage or timed out. */
export interface ProbeErrorEvent {
  /** When it failed. */
  atMs: number;
  /** The probe's name. */
  probe: string;
  /** What went wrong. */
  error: string;
  /** True for a timeout. */
  timedOut: boolean;
}

/** The flapping alarm changed state. */
export interface FlappingEvent {
  /** When. */
  atMs: number;
  /** Whether the node is flapping now. */
  flapping: boolean;
  /** Mode changes within the window. */
  switchesInWindow: number;
  /** The window, from the config. */
  windowMs: number;
}

/** A drain was cut at `drainTimeoutMs`. */
export interface DrainTimeoutEvent {
  /** When. */
  atMs: number;
  /** The component whose outgoing implementation did not drain in time. */
  component: string;
  /** The switch it belonged to. */
  switchId: number;
}

/** An automatic switch was held back by the cooldown. */
export interface CooldownEvent {
  /** When. */
  atMs: number;
  /** The mode the detector asked for. */
  wanted: Mode;
  /** How long until automatic switches are allowed again. */
  remainingMs: number;
}

/** Every event the manager emits, by name. */
export interface ManagerEvents {
  /** After every detection round. */
  sample: SampleEvent;
  /** A probe failed. */
  "probe-error": ProbeErrorEvent;
  /** A switch completed. */
  switch: SwitchRecord;
  /** A switch was rolled back. */
  "switch-failed": SwitchRecord;
  /** A switch into a mode that cannot be served was refused. */
  "switch-refused": SwitchRecord;
  /** The flapping alarm was raised or cleared. */
  flapping: FlappingEvent;
  /** A drain timed out. */
  "drain-timeout": DrainTimeoutEvent;
  /** An automatic switch waited for the cooldown. */
  cooldown: CooldownEvent;
  /** A switch's agreement step ended: the cluster agreed in time, or it is still pending. */
  agreement: AgreementEvent;
  /** With `linkModes: "per-peer"`: one link changed mode. */
  "link-mode": LinkChange;
}

/** How a switch's agreement step ended. */
export interface AgreementEvent {
  /** When it ended. */
  atMs: number;
  /** The switch it belongs to. */
  switchId: number;
  /** The mode this node switched to. */
  wanted: Mode;
  /** The cluster's mode when the step ended. */
  clusterMode: Mode;
  /** `agreed` or `pending`. */
  status: "agreed" | "pending";
}
