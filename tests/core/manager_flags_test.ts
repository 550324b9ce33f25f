import assert from "node:assert/strict";
import { rolloutBucket } from "../../core/control/public.ts";
import { rig } from "../support/harness.ts";
import { CODEC } from "../support/recording_component.ts";
import { LINKS } from "../support/scripted_probe.ts";

const serving = (rigged: ReturnType<typeof rig>) => rigged.manager.getComponent(CODEC).label;

Deno.test("enableHybridMode off pins datacenter with v1 at the next decision", async () => {
  const rigged = rig({ initialMode: "internet" });
  const { clock, probe, manager, flags } = { ...rigged, flags: rigged.manager.flags };
  probe.next = LINKS.internet;
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "internet");
  flags.update({ enableHybridMode: false });
  assert.equal(manager.currentMode, "internet", "flags act at the next decision, not at once");
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(serving(rigged), "v1");
  assert.equal(manager.getStats().history.at(-1)?.origin, "flags");
  const refused = await manager.forceMode("internet", "try");
  assert.equal(refused.status, "refused");
  assert.equal(manager.currentMode, "datacenter");
  flags.update({ enableHybridMode: true });
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "internet");
  assert.equal(serving(rigged), "v3");
  await manager.stop();
});

Deno.test("enableModeDetection off: only manual switching", async () => {
  const rigged = rig({}, { flags: { enableModeDetection: false } });
  const { clock, probe, manager } = rigged;
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(5_000);
  assert.equal(manager.currentMode, "hybrid");
  assert.ok(manager.getStats().detections > 0, "still measuring, for stats and dashboards");
  assert.equal((await manager.forceMode("internet", "manual")).status, "switched");
  manager.resumeAutoDetection();
  await clock.advance(5_000);
  assert.equal(manager.currentMode, "internet");
  manager.flags.update({ enableModeDetection: true });
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "datacenter");
  await manager.stop();
});

Deno.test("v3RolloutPercentage: a node outside the rollout uses v1 in every mode", async () => {
  const bucket = rolloutBucket("test-node");
  const rigged = rig({ initialMode: "datacenter" }, { flags: { v3RolloutPercentage: bucket } });
  const { clock, probe, manager } = rigged;
  probe.next = LINKS.internet;
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "internet");
  assert.equal(serving(rigged), "v1");
  assert.equal(manager.getStats().variant, "v1");
  manager.flags.update({ v3RolloutPercentage: bucket + 1 });
  await clock.advance(1_000);
  assert.equal(serving(rigged), "v3");
  assert.match(manager.getStats().history.at(-1)?.reason ?? "", /includes this node/);
  await manager.stop();
});

Deno.test("forceV1Mode is a kill switch taking effect at the next decision, without waiting for the cooldown", async () => {
  const rigged = rig({ initialMode: "internet", cooldownMs: 600_000 });
  const { clock, probe, manager } = rigged;
  probe.next = LINKS.internet;
  await manager.start();
  await clock.advance(0);
  assert.equal(serving(rigged), "v3");
  manager.flags.update({ forceV1Mode: true });
  await clock.advance(1_000);
  assert.equal(serving(rigged), "v1");
  assert.equal(manager.currentMode, "internet", "the mode is still reported as measured");
  const last = manager.getStats().history.at(-1);
  assert.deepEqual([last?.from, last?.to, last?.fromVariant, last?.toVariant, last?.origin], [
    "internet",
    "internet",
    "v3",
    "v1",
    "flags",
  ]);
  assert.match(last?.reason ?? "", /forceV1Mode is on/);
  manager.flags.update({ forceV1Mode: false });
  await clock.advance(1_000);
  assert.equal(serving(rigged), "v3");
  await manager.stop();
});
