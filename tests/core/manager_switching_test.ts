import assert from "node:assert/strict";
import type { CooldownEvent, DrainTimeoutEvent, FlappingEvent, SwitchRecord } from "../../mod.ts";
import { componentKey, SwitchyardError, ValidationError } from "../../mod.ts";
import { rig } from "../support/harness.ts";
import { CODEC } from "../support/recording_component.ts";
import { LINKS } from "../support/scripted_probe.ts";

const LATE = componentKey<{ name: string }>("late");

Deno.test("cooldown blocks a second automatic switch until it has passed", async () => {
  const { clock, probe, manager } = rig({ cooldownMs: 30_000 });
  const blocked: CooldownEvent[] = [];
  manager.on("cooldown", (event) => blocked.push(event));
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "datacenter");
  probe.next = LINKS.internet;
  await clock.advance(29_000);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(blocked.length, 29);
  assert.equal(blocked[0].remainingMs, 29_000);
  assert.equal(manager.getStats().cooldownBlocks, 29);
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "internet");
  assert.equal(manager.getStats().lastModeChange, 30_000);
  await manager.stop();
});

Deno.test("forceMode ignores the cooldown and holds until resumeAutoDetection", async () => {
  const { clock, probe, manager } = rig({ cooldownMs: 10_000 });
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(0);
  const outcome = await manager.forceMode("internet", "maintenance window");
  assert.equal(outcome.status, "switched");
  assert.equal(manager.currentMode, "internet");
  await clock.advance(60_000);
  assert.equal(manager.currentMode, "internet", "held against a datacenter link");
  const stats = manager.getStats();
  assert.equal(stats.forced?.mode, "internet");
  assert.equal(stats.forced?.reason, "maintenance window");
  assert.equal(stats.history.at(-1)?.origin, "forced");
  manager.resumeAutoDetection();
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(manager.getStats().forced, null);
  await manager.stop();
});

Deno.test("forceMode with holdMs releases the hold by itself", async () => {
  const { clock, probe, manager } = rig();
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(0);
  await manager.forceMode("hybrid", "test", { holdMs: 5_000 });
  await clock.advance(4_000);
  assert.equal(manager.currentMode, "hybrid");
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "datacenter");
  await manager.stop();
});

Deno.test("forceMode validates its arguments", async () => {
  const { manager } = rig();
  await manager.initialize();
  assert.throws(() => manager.forceMode("moon" as never, ""), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((issue) => issue.path), ["mode", "reason"]);
    return true;
  });
  assert.throws(() => manager.forceMode("internet", "x", { holdMs: -1 }), /holdMs/);
});

Deno.test("a failing activate() rolls the switch back", async () => {
  const { clock, probe, manager, v3, log } = rig({ initialMode: "datacenter", cooldownMs: 5_000 });
  v3.failActivate = new Error("no RDMA device");
  const failures: SwitchRecord[] = [];
  manager.on("switch-failed", (record) => failures.push(record));
  await manager.start();
  probe.next = LINKS.internet;
  await clock.advance(0);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(manager.getComponent(CODEC).label, "v1");
  const stats = manager.getStats();
  assert.equal(stats.failedSwitches, 1);
  assert.equal(stats.successfulSwitches, 0);
  assert.equal(stats.history[0].outcome, "failed");
  assert.match(stats.history[0].error ?? "", /codec.*no RDMA device/);
  assert.equal(failures.length, 1);
  assert.deepEqual(log, ["activate v1", "activate v3"], "v1 was never drained nor deactivated");
  // A failed attempt starts the cooldown too, so a broken implementation is not hammered.
  await clock.advance(4_000);
  assert.equal(manager.getStats().failedSwitches, 1);
  v3.failActivate = undefined;
  await clock.advance(1_000);
  assert.equal(manager.currentMode, "internet");
  await manager.stop();
});

Deno.test("a failing mode-change callback rolls the switch back", async () => {
  const { clock, probe, manager, log } = rig({ initialMode: "datacenter" });
  const seen: string[] = [];
  manager.onModeChange((event) => {
    seen.push(`${event.from}->${event.to} sees ${manager.getComponent(CODEC).label}`);
    throw new Error("application refused");
  });
  await manager.start();
  log.length = 0;
  probe.next = LINKS.internet;
  await clock.advance(0);
  assert.deepEqual(seen, ["datacenter->internet sees v3"]);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(manager.getComponent(CODEC).label, "v1");
  assert.deepEqual(log, ["activate v3", "deactivate v3"]);
  const stats = manager.getStats();
  assert.equal(stats.failedSwitches, 1);
  assert.equal(stats.modeChanges, 0);
  assert.equal(stats.timeInModeMs.internet, 0);
  assert.match(stats.history[0].error ?? "", /mode-change callback failed: application refused/);
  await manager.stop();
});

Deno.test("a slow drain() is cut at drainTimeoutMs and the switch completes", async () => {
  const { clock, probe, manager, v1, log } = rig({
    initialMode: "datacenter",
    detectionIntervalMs: 60_000,
    probeTimeoutMs: 1_000,
    drainTimeoutMs: 5_000,
  });
  v1.slowDrain = true;
  const timeouts: DrainTimeoutEvent[] = [];
  manager.on("drain-timeout", (event) => timeouts.push(event));
  await manager.start();
  probe.next = LINKS.internet;
  await clock.advance(0);
  assert.equal(manager.currentMode, "internet", "lookups moved before the drain");
  assert.equal(manager.getStats().switching, true);
  await clock.advance(4_999);
  assert.deepEqual(log, ["activate v1", "activate v3", "drain v1"]);
  await clock.advance(1);
  assert.deepEqual(log, ["activate v1", "activate v3", "drain v1", "deactivate v1"]);
  assert.equal(v1.drainAborted, true, "drain() saw its signal abort");
  const stats = manager.getStats();
  assert.equal(stats.switching, false);
  assert.equal(stats.drainTimeouts, 1);
  assert.deepEqual(stats.history[0].drainTimeouts, ["codec"]);
  assert.equal(stats.history[0].durationMs, 5_000);
  assert.equal(stats.history[0].outcome, "success");
  assert.deepEqual(timeouts.map((t) => t.component), ["codec"]);
  await manager.stop();
});

Deno.test("gracefulTransition false deactivates without draining", async () => {
  const { clock, probe, manager, log } = rig({ initialMode: "datacenter", gracefulTransition: false });
  await manager.start();
  probe.next = LINKS.internet;
  await clock.advance(0);
  assert.deepEqual(log, ["activate v1", "activate v3", "deactivate v1"]);
  await manager.stop();
});

Deno.test("a hanging activate() is bounded by activateTimeoutMs and rolled back", async () => {
  const { clock, probe, manager, v3 } = rig({
    initialMode: "datacenter",
    activateTimeoutMs: 2_000,
    cooldownMs: 60_000,
  });
  v3.activate = () => new Promise(() => {});
  await manager.start();
  probe.next = LINKS.internet;
  await clock.advance(2_000);
  assert.equal(manager.currentMode, "datacenter");
  assert.match(manager.getStats().history[0].error ?? "", /timed out after 2000 ms/);
  await manager.stop();
});

Deno.test("a callback that calls back into the manager does not deadlock", async () => {
  const { clock, probe, manager } = rig({ initialMode: "datacenter" });
  const answers: string[] = [];
  let once = true;
  manager.onModeChange(async (event) => {
    answers.push(`${event.to}: stats say ${manager.getStats().currentMode}`);
    if (once) {
      once = false;
      const outcome = await manager.forceMode("hybrid", "callback changed its mind");
      answers.push(`forceMode -> ${outcome.status}`);
      manager.registerComponent(LATE, { name: "late-v1" }, { name: "late-v3" });
    }
  });
  await manager.start();
  probe.next = LINKS.internet;
  await clock.advance(0);
  assert.deepEqual(answers, [
    "internet: stats say internet",
    "forceMode -> deferred",
    "hybrid: stats say hybrid",
  ]);
  assert.equal(manager.currentMode, "hybrid");
  assert.equal(manager.getComponent(LATE).name, "late-v3");
  assert.deepEqual(manager.getStats().history.map((r) => [r.from, r.to, r.origin]), [
    ["datacenter", "internet", "auto"],
    ["internet", "hybrid", "forced"],
  ]);
  await manager.stop();
});

Deno.test("onModeChange returns an unsubscribe function", async () => {
  const { manager } = rig();
  await manager.initialize();
  let calls = 0;
  const off = manager.onModeChange(() => void calls++);
  await manager.forceMode("internet", "a");
  off();
  await manager.forceMode("datacenter", "b");
  assert.equal(calls, 1);
});

Deno.test("stop then start works, and stop leaves no timer behind", async () => {
  const { clock, probe, manager } = rig();
  probe.next = LINKS.datacenter;
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "datacenter");
  await manager.stop();
  assert.equal(manager.getStats().running, false);
  assert.equal(clock.pendingTimers, 0);
  probe.next = LINKS.internet;
  await clock.advance(10_000);
  assert.equal(manager.currentMode, "datacenter", "stopped: nothing measured");
  const callsWhileStopped = probe.calls;
  await manager.start();
  assert.equal(manager.getStats().running, true);
  await clock.advance(0);
  assert.equal(probe.calls, callsWhileStopped + 1);
  assert.equal(manager.currentMode, "internet");
  await manager.stop();
  await manager.stop(); // idempotent
});

Deno.test("stop aborts a probe in flight and waits for it", async () => {
  const { clock, probe, manager } = rig({ probeTimeoutMs: 900 });
  probe.hang = true;
  await manager.start();
  await clock.advance(0);
  await manager.stop();
  assert.equal(manager.getStats().probeErrors, 1);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("flapping: more than flapMaxSwitches within flapWindowMs raises and clears the alarm", async () => {
  const { clock, probe, manager } = rig({ flapMaxSwitches: 2, flapWindowMs: 10_000 });
  const alarms: FlappingEvent[] = [];
  manager.on("flapping", (event) => alarms.push(event));
  await manager.start();
  for (const link of [LINKS.datacenter, LINKS.internet, LINKS.datacenter]) {
    probe.next = link;
    await clock.advance(1_000);
  }
  assert.equal(manager.getStats().modeChanges, 3);
  assert.equal(manager.getStats().flapping, true);
  assert.deepEqual(alarms.map((a) => [a.flapping, a.switchesInWindow]), [[true, 3]]);
  await clock.advance(10_000);
  assert.equal(manager.getStats().flapping, false);
  assert.deepEqual(alarms.map((a) => a.flapping), [true, false]);
  await manager.stop();
});

Deno.test("stats: time in each mode, history with outcome and duration, components", async () => {
  const { clock, probe, manager } = rig({ historyLimit: 2 });
  await manager.start();
  await clock.advance(3_000); // hybrid 0..3000 (no change: the link is hybrid)
  probe.next = LINKS.datacenter;
  await clock.advance(1_000); // switch at 3000 -> datacenter
  await clock.advance(1_000);
  probe.next = LINKS.internet;
  await clock.advance(2_000); // switch at 5000 -> internet, now 6000... then 7000
  probe.next = LINKS.hybrid;
  const stats = manager.getStats();
  assert.deepEqual(stats.timeInModeMs, { hybrid: 4_000, datacenter: 2_000, internet: 1_000 });
  assert.equal(stats.history.length, 2);
  assert.deepEqual(stats.history.map((r) => [r.from, r.to, r.atMs, r.outcome, r.durationMs]), [
    ["hybrid", "datacenter", 4_000, "success", 0],
    ["datacenter", "internet", 6_000, "success", 0],
  ]);
  assert.deepEqual(stats.components.codec, { serving: "internet", variant: "v3", state: "active" });
  assert.equal(stats.initialized, true);
  assert.equal(stats.running, true);
  assert.equal(stats.nodeId, "test-node");
  await manager.stop();
});

Deno.test("initialize rejects naming the component that failed to activate", async () => {
  const { manager, v3 } = rig();
  v3.failActivate = new Error("port in use");
  await assert.rejects(manager.initialize(), (error: unknown) => {
    assert.ok(error instanceof SwitchyardError);
    assert.equal(error.code, "SWITCH_FAILED");
    assert.match(error.message, /"codec": port in use/);
    return true;
  });
  assert.equal(manager.getStats().initialized, false);
  assert.equal(manager.getStats().components.codec.state, "failed");
  v3.failActivate = undefined;
  await manager.initialize();
  assert.equal(manager.getStats().components.codec.state, "active");
});

Deno.test("a component registered after initialize is activated at once", async () => {
  const { manager, clock } = rig();
  await manager.initialize();
  const log: string[] = [];
  manager.registerComponent("late", { activate: () => void log.push("v1") }, { activate: () => void log.push("v3") });
  await clock.advance(0);
  assert.deepEqual(log, ["v3"]);
  assert.equal(manager.getStats().components.late.state, "active");
});

Deno.test("a force whose switch a detection round queued before it made is reported switched, with that record", async () => {
  const { clock, probe, manager, v1 } = rig({
    initialMode: "datacenter",
    detectionIntervalMs: 60_000,
    probeTimeoutMs: 1_000,
    drainTimeoutMs: 5_000,
    cooldownMs: 0,
  });
  v1.slowDrain = true; // the first switch holds the queue for drainTimeoutMs
  await manager.start();
  probe.next = LINKS.internet;
  await clock.advance(0); // switch A: datacenter -> internet, draining
  probe.next = LINKS.datacenter;
  const detecting = manager.detectNow(); // round B: queued behind A
  await clock.advance(0);
  const forcing = manager.forceMode("hybrid", "operator"); // C: the hold is set now; B, when its turn comes, obeys it
  await clock.advance(5_000);
  await detecting;
  const outcome = await forcing;
  assert.equal(manager.currentMode, "hybrid");
  assert.equal(outcome.status, "switched", JSON.stringify(outcome));
  assert.equal(outcome.record?.to, "hybrid");
  assert.equal(outcome.record?.origin, "forced");
  await manager.stop();
});
