import assert from "node:assert/strict";
import { ManualClock, SwitchyardError } from "../../mod.ts";
import { ModeAwareAdapter } from "../../core/control/public.ts";
import { RecordingComponent } from "../support/recording_component.ts";

const v3Selection = (mode: "datacenter" | "internet" | "hybrid") => ({ mode, useV3: true });

Deno.test("register accepts (v1, v3) and per-mode maps, and rejects bad input naming the field", () => {
  const adapter = new ModeAwareAdapter(new ManualClock());
  adapter.register("a", "v1", "v3", v3Selection("internet"));
  adapter.register("b", { datacenter: 1, internet: 2, hybrid: 3 }, undefined, v3Selection("hybrid"));
  assert.equal(adapter.get("a"), "v3");
  assert.equal(adapter.get("b"), 3);
  assert.throws(() => adapter.register("a", 1, 2, v3Selection("hybrid")), /already registered/);
  assert.throws(() => adapter.register("c", 1, undefined, v3Selection("hybrid")), /v3 is missing/);
  assert.throws(
    () => adapter.register("d", { datacenter: 1, internet: 2 }, undefined, v3Selection("hybrid")),
    /implementations\.hybrid is missing/,
  );
  assert.throws(() => adapter.register("", 1, 2, v3Selection("hybrid")), /non-empty string/);
  try {
    adapter.get("nope");
    assert.fail("must throw");
  } catch (error) {
    assert.ok(error instanceof SwitchyardError);
    assert.equal(error.code, "COMPONENT_UNKNOWN");
    assert.match(error.message, /registered: "a", "b"/);
  }
});

Deno.test("a transition activates, commits, drains and deactivates in that order", async () => {
  const clock = new ManualClock();
  const log: string[] = [];
  const adapter = new ModeAwareAdapter(clock);
  adapter.register("codec", new RecordingComponent("lz4", log), new RecordingComponent("zstd", log), {
    mode: "datacenter",
    useV3: true,
  });
  await adapter.activatePending();
  const transition = await adapter.prepare(v3Selection("internet"));
  assert.equal(adapter.get<RecordingComponent>("codec").label, "lz4", "lookups move only on commit");
  transition.commit();
  assert.equal(adapter.get<RecordingComponent>("codec").label, "zstd");
  const report = await transition.retire({ graceful: true, drainTimeoutMs: 100 });
  assert.deepEqual(report, { drainTimeouts: [], errors: [] });
  assert.deepEqual(log, ["activate lz4", "activate zstd", "drain lz4", "deactivate lz4"]);
});

Deno.test("the same implementation in two modes is neither re-activated nor drained", async () => {
  const log: string[] = [];
  const adapter = new ModeAwareAdapter(new ManualClock());
  const v3 = new RecordingComponent("v3", log);
  adapter.register("t", new RecordingComponent("v1", log), v3, v3Selection("internet"));
  await adapter.activatePending();
  const transition = await adapter.prepare(v3Selection("hybrid"));
  transition.commit();
  await transition.retire({ graceful: true, drainTimeoutMs: 10 });
  assert.deepEqual(log, ["activate v3"]);
});

Deno.test("a failed activation deactivates what was activated and leaves lookups alone", async () => {
  const log: string[] = [];
  const adapter = new ModeAwareAdapter(new ManualClock());
  const broken = new RecordingComponent("b-v3", log);
  broken.failActivate = new Error("no device");
  adapter.register("a", new RecordingComponent("a-v1", log), new RecordingComponent("a-v3", log), {
    mode: "datacenter",
    useV3: true,
  });
  adapter.register("b", new RecordingComponent("b-v1", log), broken, { mode: "datacenter", useV3: true });
  await adapter.activatePending();
  log.length = 0;
  await assert.rejects(adapter.prepare(v3Selection("internet")), (error: unknown) => {
    assert.ok(error instanceof SwitchyardError);
    assert.equal(error.code, "SWITCH_FAILED");
    assert.match(error.message, /component "b".*no device/);
    return true;
  });
  assert.deepEqual(log, ["activate a-v3", "activate b-v3", "deactivate a-v3"]);
  assert.equal(adapter.get<RecordingComponent>("a").label, "a-v1");
});

Deno.test("rollout off (useV3 false) serves v1 in every mode", async () => {
  const adapter = new ModeAwareAdapter(new ManualClock());
  adapter.register("c", "v1", "v3", { mode: "internet", useV3: false });
  assert.equal(adapter.get("c"), "v1");
  const transition = await adapter.prepare({ mode: "hybrid", useV3: false });
  transition.commit();
  assert.equal(adapter.get("c"), "v1");
  assert.deepEqual(adapter.status().c, { serving: "datacenter", variant: "v1", state: "active" });
});
