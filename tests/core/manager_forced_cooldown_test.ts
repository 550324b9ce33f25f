// What the docs' tour says (README.md, docs/core.md): right after a forced switch and resumeAutoDetection(),
// detectNow() measures and decides, but the forced switch started the cooldown, so the outcome is "cooldown" and the
// mode stays; once the cooldown has passed, the detection loop switches by itself.
import assert from "node:assert/strict";
import { componentKey, HybridManager, ManualClock, type Probe, silentLogger } from "../../mod.ts";

const CODEC = componentKey<{ name: string }>("codec");

Deno.test("a forced switch starts the cooldown: detectNow() after resuming answers cooldown until it has passed", async () => {
  const clock = new ManualClock();
  const lan: Probe = {
    name: "lan",
    measure: () => Promise.resolve({ rttMs: 0.4, bandwidthMbps: 25_000, lossRatio: 0 }),
  };
  const manager = new HybridManager({
    clock,
    logger: silentLogger,
    nodeId: "node-1",
    probes: [lan],
    config: { cooldownMs: 30_000 },
  });
  manager.registerComponent(CODEC, { name: "lz4" }, { name: "zstd" });
  await manager.start();
  await clock.advance(0); // the first round: hybrid -> datacenter, never held by the cooldown
  assert.equal(manager.currentMode, "datacenter");

  const forced = await manager.forceMode("internet", "maintenance", { holdMs: 600_000 });
  assert.equal(forced.status, "switched");
  assert.equal(manager.getComponent(CODEC).name, "zstd");
  manager.resumeAutoDetection();
  const { decision, outcome } = await manager.detectNow();
  assert.equal(decision?.mode, "datacenter");
  assert.equal(outcome.status, "cooldown");
  assert.equal(manager.currentMode, "internet");
  assert.ok(manager.getStats().cooldownRemainingMs > 0);

  await clock.advance(20_000); // the loop's rounds at 10 s and 20 s are held too
  assert.equal(manager.currentMode, "internet");
  await clock.advance(10_000); // 30 s after the forced switch
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(manager.getComponent(CODEC).name, "lz4");
  await manager.close();
});
