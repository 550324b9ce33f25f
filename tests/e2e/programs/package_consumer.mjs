// @ts-check
// An application of the installed npm package, run by tests/e2e/npm_package_test.ts in a scratch project on
// Node, Bun and Deno (through node_modules): the core (a manager with a probe, a forced switch), the codecs
// of the built-in manifest in every mode (WASM zstd on Node 20, the compress-adaptive worker pool), the admin
// endpoint on the runtime's server, the in-memory transport and the RTT probe, a plugin this runtime cannot
// run refused at load, and a clean exit.
// Usage: <runtime> package_consumer.mjs <expected runtime>
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { currentRuntime, fromManifest, HybridManager, ManualClock, MODES, silentLogger } from "@switchyard/hybrid";
import { adminClient } from "@switchyard/hybrid/admin-client";
import { runCompliance } from "@switchyard/hybrid/testing";

const runtime = currentRuntime();
assert.equal(runtime, process.argv[2], "the library sees the runtime it runs on");
assert.equal(typeof runCompliance, "function", "the testing kit loads from its subpath");

// The core: a probe decides, a forced switch overrides it.
const clock = new ManualClock();
const core = new HybridManager({
  clock,
  logger: silentLogger,
  config: { sampleWindow: 1 },
  probes: [{ name: "lan", measure: () => Promise.resolve({ rttMs: 0.3, bandwidthMbps: 10_000, lossRatio: 0 }) }],
});
core.registerComponent("codec", { name: "lz4" }, { name: "zstd" });
await core.start();
await clock.advance(0);
assert.equal(core.currentMode, "datacenter");
await core.forceMode("internet", "package test");
assert.equal(core.currentMode, "internet");
assert.equal(/** @type {{ name: string }} */ (core.getComponent("codec")).name, "zstd");
await core.close();

// The built-in manifest as shipped, plus the admin endpoint, an RTT probe pinging itself over the in-memory
// transport, and the TCP transport (Deno and Bun only).
const builtin = JSON.parse(
  await readFile(new URL(import.meta.resolve("@switchyard/hybrid/plugins/manifest.json")), "utf8"),
);
const token = "package-test-token-0123456789";
builtin.plugins.push(
  { id: "admin-http", module: "builtin:admin-http", options: { port: 0, token } },
  { id: "transport-memory", module: "builtin:transport-memory", options: { address: "self", link: { delayMs: 1 } } },
  { id: "probe-rtt", module: "builtin:probe-rtt", options: { name: "rtt", listen: "self", peers: ["self"] } },
  { id: "transport-tcp", module: "builtin:transport-tcp" },
);
builtin.slots.probes.push("probe-rtt");
const scratch = await mkdtemp(join(tmpdir(), "switchyard-consumer-"));
const manifestPath = join(scratch, "manifest.json");
await writeFile(manifestPath, JSON.stringify(builtin));
/** @type {string[]} */
const lines = [];
const logger = { ...silentLogger, info: (/** @type {string} */ message) => void lines.push(message) };
const manager = await fromManifest(manifestPath, { nodeId: "package-test", logger });
await rm(scratch, { recursive: true, force: true });
const records = Object.fromEntries(manager.getStats().plugins.map((record) => [record.id, record]));
const portable = ["compress-lz4", "compress-zstd", "compress-adaptive", "probe-replay", "admin-http"];
for (const id of [...portable, "transport-memory", "probe-rtt"]) {
  assert.equal(records[id].state, "loaded", `${id}: ${records[id].reason}`);
}
if (runtime === "node") {
  assert.equal(records["transport-tcp"].state, "failed");
  assert.equal(records["transport-tcp"].stage, "compat");
  assert.match(records["transport-tcp"].reason ?? "", /\bnode\b/, "the refusal names the runtime");
} else {
  assert.equal(records["transport-tcp"].state, "loaded", records["transport-tcp"].reason);
}

await manager.start();
const payload = new TextEncoder().encode(JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ i, tag: "abc" }))));
/** @type {Record<string, unknown>} */
const engines = {};
for (const mode of MODES) {
  await manager.forceMode(mode, "package test");
  const compressor = /** @type {import("@switchyard/hybrid").Compressor & { stats?(): Record<string, unknown> }} */ (
    manager.getComponent("compression")
  );
  const frame = await compressor.compress(payload);
  assert.ok(frame.length < payload.length, `${mode}: ${compressor.codec} compresses`);
  assert.deepEqual(await compressor.decompress(frame), payload, `${mode}: the payload survives`);
  const stats = compressor.stats?.() ?? {};
  engines[mode] = stats.engine ?? stats.zstdEngine ?? compressor.codec;
}
// Node 20's node:zlib has no zstd: the WASM build runs there, and on the adaptive codec's worker threads.
if (runtime === "node" && !/^v2[2-9]|^v[3-9]/.test(process.version)) assert.equal(engines.internet, "wasm");

const listening = lines.map((line) => /admin-http listening on (\S+)/.exec(line)?.[1]).find(Boolean);
assert.ok(listening, `the admin endpoint says where it listens: ${lines.join(" | ")}`);
const admin = adminClient(listening, token);
assert.equal((await admin.status()).mode, "hybrid");
await admin.forceMode("datacenter", "through the admin endpoint");
assert.equal(manager.currentMode, "datacenter");
const rtt = (await manager.detectNow()).probes.find((result) => result.probe === "rtt");
assert.ok((rtt?.sample?.rttMs ?? 0) > 0, `the RTT probe measured its link: ${JSON.stringify(rtt)}`);

await manager.close();
console.log(JSON.stringify({ runtime, engines, admin: listening }));
