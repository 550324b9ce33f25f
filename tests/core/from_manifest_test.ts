import assert from "node:assert/strict";
import { COMPRESSION, fromManifest, ManualClock, silentLogger, SwitchyardError } from "../../mod.ts";
import { UnavailableImplementation } from "../../core/loading/slots.ts";
import { MemoryHost } from "../support/memory_host.ts";
import { LINKS } from "../support/scripted_probe.ts";
import { builtinsOf, compressorPlugin, testPlugin } from "../support/test_plugins.ts";

const manifest = (plugins: unknown[], slots: unknown = {}) => JSON.stringify({ plugins, slots });

Deno.test("the built-in manifest loads through the real host and drives a manager", async () => {
  const clock = new ManualClock();
  const manager = await fromManifest(new URL("../../plugins/manifest.json", import.meta.url), {
    clock,
    logger: silentLogger,
    config: { sampleWindow: 1, cooldownMs: 0 },
  });
  const stats = manager.getStats();
  assert.deepEqual(stats.plugins.map((p) => [p.id, p.state, p.version]), [
    ["compress-lz4", "loaded", "0.1.0"],
    ["compress-zstd", "loaded", "0.1.0"],
    ["compress-adaptive", "loaded", "0.1.0"],
    ["probe-replay", "loaded", "0.1.0"],
  ]);
  assert.deepEqual(stats.probes.map((p) => p.name), ["replay"]);
  assert.deepEqual(stats.unavailableModes, {});
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "datacenter", "the replay starts in a rack");
  assert.equal(manager.getComponent(COMPRESSION).codec, "lz4");
  await clock.advance(20_000);
  assert.equal(manager.currentMode, "internet");
  const codec = manager.getComponent(COMPRESSION);
  assert.equal(codec.codec, "zstd");
  const data = new TextEncoder().encode("switchyard");
  assert.deepEqual(await codec.decompress(await codec.compress(data)), data);
  await manager.close();
});

Deno.test("a mode whose slot plugin failed is never entered, and the refusal is recorded", async () => {
  const host = new MemoryHost();
  const clock = new ManualClock();
  const log: string[] = [];
  const internetProbe = testPlugin({
    id: "wan",
    kind: "probe",
    create: () => ({ name: "wan", measure: () => Promise.resolve({ ...LINKS.internet }) }),
  });
  const builtins = builtinsOf([
    compressorPlugin("fast", log),
    compressorPlugin("dense", log, "zstd wasm failed to instantiate"),
    internetProbe,
  ]);
  host.write(
    "m.json",
    manifest(
      ["fast", "dense", "wan"].map((id) => ({ id, module: `builtin:${id}` })),
      { compression: { datacenter: "fast", internet: "dense", hybrid: "fast" }, probes: ["wan"] },
    ),
  );
  const manager = await fromManifest("m.json", {
    host,
    builtins,
    clock,
    logger: silentLogger,
    config: { sampleWindow: 1, cooldownMs: 0, detectionIntervalMs: 1_000 },
  });
  const refusals: string[] = [];
  manager.on("switch-refused", (record) => refusals.push(record.error ?? ""));
  const stats = manager.getStats();
  assert.match(
    stats.unavailableModes.internet ?? "",
    /compression slot: plugin "dense" is failed: create\(\) threw: zstd wasm/,
  );
  assert.equal(stats.plugins.find((p) => p.id === "dense")?.state, "failed");
  await manager.start();
  await clock.advance(3_000);
  assert.equal(manager.currentMode, "hybrid", "the link says internet, but internet cannot be served");
  const after = manager.getStats();
  assert.equal(after.refusedSwitches, 4);
  assert.equal(after.history.length, 1, "one record, not one per detection round");
  assert.equal(after.history[0].outcome, "refused");
  assert.equal(refusals.length, 1);
  const forced = await manager.forceMode("internet", "operator insists");
  assert.equal(forced.status, "refused");
  assert.equal(manager.currentMode, "hybrid");
  const hybridCodec = manager.getComponent(COMPRESSION);
  assert.equal(hybridCodec.codec, "none");
  assert.deepEqual(log, ["activate fast"]);
  await manager.close();
});

Deno.test("an unavailable initial mode is skipped, and no mode at all is an error", async () => {
  const host = new MemoryHost();
  const builtins = builtinsOf([compressorPlugin("ok"), compressorPlugin("broken", [], "boom")]);
  const entries = ["ok", "broken"].map((id) => ({ id, module: `builtin:${id}` }));
  host.write(
    "some.json",
    manifest(entries, { compression: { datacenter: "ok", internet: "broken", hybrid: "broken" } }),
  );
  const manager = await fromManifest("some.json", {
    host,
    builtins,
    logger: silentLogger,
    clock: new ManualClock(),
    config: { initialMode: "internet" },
  });
  assert.equal(manager.currentMode, "datacenter");
  const internetImplementation = (manager.adapter as unknown as { get(name: string): unknown }).get("compression");
  assert.ok(!(internetImplementation instanceof UnavailableImplementation));

  host.write(
    "none.json",
    manifest(entries, { compression: { datacenter: "broken", internet: "broken", hybrid: "broken" } }),
  );
  await assert.rejects(
    fromManifest("none.json", { host, builtins, logger: silentLogger, clock: new ManualClock() }),
    (error: unknown) => {
      assert.ok(error instanceof SwitchyardError);
      assert.equal(error.code, "MODE_UNAVAILABLE");
      assert.match(error.message, /datacenter: compression slot: plugin "broken" is failed: create\(\) threw: boom/);
      return true;
    },
  );
});

Deno.test("extensions receive the manager; close() closes plugins in reverse order", async () => {
  const host = new MemoryHost();
  const closed: string[] = [];
  let sawManager: unknown;
  const builtins = builtinsOf([
    testPlugin({
      id: "probe-a",
      kind: "probe",
      create: () => ({
        name: "a",
        measure: () => Promise.resolve({ rttMs: 1 }),
        close: () => void closed.push("probe-a"),
      }),
    }),
    testPlugin({
      id: "admin",
      requires: ["cap:probe-a"],
      create: (context) => {
        sawManager = "host" in context ? context.host : undefined;
        return { close: () => void closed.push("admin") };
      },
    }),
  ]);
  host.write(
    "m.json",
    manifest([{ id: "admin", module: "builtin:admin" }, { id: "probe-a", module: "builtin:probe-a" }]),
  );
  const manager = await fromManifest("m.json", {
    host,
    builtins,
    logger: silentLogger,
    clock: new ManualClock(),
  });
  assert.equal(sawManager, manager);
  assert.deepEqual(manager.getStats().plugins.map((p) => p.state), ["loaded", "loaded"]);
  await manager.close();
  assert.deepEqual(closed, ["admin", "probe-a"]);
});
