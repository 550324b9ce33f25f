/**
 * Builds a manager on a ManualClock with one scripted probe and a
 * recording component, the setup most core tests share.
 *
 * @module
 */
import {
  type HybridConfigInput,
  HybridManager,
  type HybridManagerOptions,
  ManualClock,
  silentLogger,
} from "../../mod.ts";
import { CODEC, RecordingComponent } from "./recording_component.ts";
import { LINKS, ScriptedProbe } from "./scripted_probe.ts";

/** A manager under test, with handles to everything a test pokes. */
export interface Rig {
  clock: ManualClock;
  probe: ScriptedProbe;
  manager: HybridManager;
  v1: RecordingComponent;
  v3: RecordingComponent;
  log: string[];
}

/** Test defaults: 1 s detection, a one-sample window, no cooldown unless asked. */
export function rig(config: HybridConfigInput = {}, options: Partial<HybridManagerOptions> = {}): Rig {
  const clock = new ManualClock();
  const probe = new ScriptedProbe("link", LINKS.hybrid);
  const log: string[] = [];
  const v1 = new RecordingComponent("v1", log);
  const v3 = new RecordingComponent("v3", log);
  const manager = new HybridManager({
    clock,
    probes: [probe],
    logger: silentLogger,
    nodeId: "test-node",
    ...options,
    config: { detectionIntervalMs: 1_000, probeTimeoutMs: 500, sampleWindow: 1, cooldownMs: 0, ...config },
  });
  manager.registerComponent(CODEC, v1, v3);
  return { clock, probe, manager, v1, v3, log };
}
