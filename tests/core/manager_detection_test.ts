import assert from "node:assert/strict";
import {
  HybridManager,
  ManualClock,
  type ProbeErrorEvent,
  type SampleEvent,
  silentLogger,
  ValidationError,
} from "../../mod.ts";
import { rig } from "../support/harness.ts";
import { LINKS, ScriptedProbe } from "../support/scripted_probe.ts";

Deno.test("detection measures at start and then every detectionIntervalMs", async () => {
  const { clock, probe, manager } = rig({ detectionIntervalMs: 10_000, probeTimeoutMs: 1_000 });
  await manager.start();
  await clock.advance(0);
  assert.equal(probe.calls, 1);
  await clock.advance(9_999);
  assert.equal(probe.calls, 1);
  await clock.advance(1);
  assert.equal(probe.calls, 2);
  await clock.advance(30_000);
  assert.equal(probe.calls, 5);
  assert.equal(manager.getStats().detections, 5);
  await manager.stop();
});

Deno.test("the first switch after start is not held by the cooldown", async () => {
  const { clock, probe, manager } = rig({ cooldownMs: 60_000 });
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "datacenter");
  const stats = manager.getStats();
  assert.equal(stats.modeChanges, 1);
  assert.equal(stats.lastModeChange, 0);
  assert.match(stats.lastModeChangeReason ?? "", /^datacenter: rttMs 0.5 < 9/);
  await manager.stop();
});

Deno.test("one outlier sample does not switch; a sustained change does", async () => {
  const { clock, probe, manager } = rig({ sampleWindow: 5 });
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(4_000);
  assert.equal(manager.currentMode, "datacenter");
  probe.next = LINKS.internet; // one spike
  await clock.advance(1_000);
  probe.next = LINKS.datacenter;
  await clock.advance(5_000);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(manager.getStats().modeChanges, 1);
  probe.next = LINKS.internet; // now it stays bad: the median moves after 3 of 5
  await clock.advance(2_000);
  assert.equal(manager.currentMode, "datacenter");
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "internet");
  await manager.stop();
});

Deno.test("probes that throw, time out or return garbage are counted and never fatal", async () => {
  const clock = new ManualClock();
  const good = new ScriptedProbe("good", LINKS.datacenter);
  const thrower = new ScriptedProbe("thrower", {});
  thrower.failWith = new Error("connection refused");
  const hanger = new ScriptedProbe("hanger", {});
  hanger.hang = true;
  const garbage = new ScriptedProbe("garbage", { rttMs: -3 });
  const manager = new HybridManager({
    clock,
    logger: silentLogger,
    probes: [good, thrower, hanger, garbage],
    config: { detectionIntervalMs: 1_000, probeTimeoutMs: 300, sampleWindow: 1 },
  });
  const errors: ProbeErrorEvent[] = [];
  const samples: SampleEvent[] = [];
  manager.on("probe-error", (event) => errors.push(event));
  manager.on("sample", (event) => samples.push(event));
  await manager.start();
  await clock.advance(299);
  assert.equal(samples.length, 0, "the round waits for the hanging probe up to its timeout");
  await clock.advance(1);
  assert.equal(samples.length, 1);
  assert.equal(manager.currentMode, "datacenter", "the good probe still decides");
  assert.deepEqual(errors.map((e) => [e.probe, e.timedOut]).sort(), [
    ["garbage", false],
    ["hanger", true],
    ["thrower", false],
  ]);
  assert.match(errors.find((e) => e.probe === "garbage")?.error ?? "", /rttMs must be 0 or more/);
  const stats = manager.getStats();
  assert.equal(stats.probeErrors, 3);
  assert.deepEqual(stats.probes.map((p) => [p.name, p.successes, p.failures, p.timeouts]), [
    ["good", 1, 0, 0],
    ["thrower", 0, 1, 0],
    ["hanger", 0, 1, 1],
    ["garbage", 0, 1, 0],
  ]);
  assert.deepEqual(stats.lastSample, LINKS.datacenter);
  await manager.stop();
});

Deno.test("with no probe answering, the mode does not change", async () => {
  const { clock, probe, manager } = rig({ initialMode: "internet" });
  probe.failWith = new Error("down");
  await manager.start();
  await clock.advance(5_000);
  assert.equal(manager.currentMode, "internet");
  assert.equal(manager.getStats().lastSample, null);
  await manager.stop();
});

Deno.test("detectNow measures and decides on demand", async () => {
  const { probe, manager } = rig({ autoDetect: false });
  await manager.initialize();
  probe.next = LINKS.internet;
  const report = await manager.detectNow();
  assert.equal(report.outcome.status, "switched");
  assert.equal(report.decision?.mode, "internet");
  assert.equal(manager.currentMode, "internet");
});

Deno.test("bad options are rejected naming the field", () => {
  assert.throws(
    () => new HybridManager({ probes: [{ name: "", measure: 3 } as never], logger: silentLogger }),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(error.issues.map((issue) => issue.path), ["probes.0.name", "probes.0.measure"]);
      return true;
    },
  );
  assert.throws(() => new HybridManager({ nodeId: " ", logger: silentLogger }), /nodeId/);
  assert.throws(() => new HybridManager({ config: { sampleWindow: 0 } }), /sampleWindow/);
});
