// The built-in plugins share one source for what they have in common: version
// and compat come from builtinPlugin (the core's version, `^<core version>`,
// every runtime unless a plugin names fewer), and compress-lz4 and
// compress-none are one factory's two plugins.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { CORE_VERSION, type Plugin, RUNTIMES } from "../../mod.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import { builtinPlugin } from "../../plugins/builtin_plugin.ts";
import { noneCodec } from "../../plugins/codecs.ts";
import { framedCodecPlugin } from "../../plugins/framed_codec_plugin.ts";
import { instantiate, pluginCompliance } from "../../testing/mod.ts";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));

/** Runtimes a built-in names on purpose, because it cannot run everywhere. */
const NARROWER: Record<string, readonly string[]> = {
  "transport-adaptive": ["deno", "bun"],
  "transport-rdma": ["deno", "bun"],
  "transport-tcp": ["deno", "bun"],
};

Deno.test("built-ins: version and compat come from the core's version", async () => {
  for (const [id, load] of Object.entries(BUILTIN_PLUGINS)) {
    const plugin = (await load()).default as Plugin;
    assert.equal(plugin.id, id);
    assert.equal(plugin.version, CORE_VERSION, `${id} version`);
    assert.equal(plugin.compat.core, `^${CORE_VERSION}`, `${id} compat.core`);
    assert.deepEqual([...plugin.compat.runtimes], [...(NARROWER[id] ?? RUNTIMES)], `${id} runtimes`);
  }
});

Deno.test("built-ins: no plugin module writes version or compat by hand, or calls definePlugin itself", () => {
  const offending: string[] = [];
  for (const folder of readdirSync(join(ROOT, "plugins"), { withFileTypes: true })) {
    if (!folder.isDirectory()) continue;
    let source: string;
    try {
      source = readFileSync(join(ROOT, "plugins", folder.name, "mod.ts"), "utf8");
    } catch {
      continue; // a kit, not a plugin
    }
    for (const pattern of [/^\s+version: "/m, /^\s+compat: \{/m, /\bdefinePlugin\(/]) {
      if (pattern.test(source)) offending.push(`plugins/${folder.name}/mod.ts: ${pattern}`);
    }
  }
  assert.deepEqual(offending, [], "declare built-ins with builtinPlugin() (plugins/builtin_plugin.ts)");
});

Deno.test("builtinPlugin: every runtime by default, the plugin's own list when it names one", () => {
  const base = {
    kind: "probe" as const,
    modes: ["datacenter"] as const,
    provides: ["probe:x"],
    create: () => ({ name: "x", measure: () => Promise.resolve({ rttMs: 1 }) }),
  };
  const everywhere = builtinPlugin({ ...base, id: "everywhere" });
  assert.deepEqual(everywhere.compat, { core: `^${CORE_VERSION}`, runtimes: [...RUNTIMES] });
  assert.equal(everywhere.version, CORE_VERSION);
  const narrower = builtinPlugin({ ...base, id: "narrower", runtimes: ["deno"] });
  assert.deepEqual(narrower.compat.runtimes, ["deno"]);
  assert.equal("runtimes" in narrower, false, "runtimes go into compat, not onto the plugin");
  assert.ok(Object.isFrozen(narrower));
});

Deno.test("framedCodecPlugin: one factory makes compress-lz4 and compress-none, and any framed codec", async () => {
  const lz4 = (await BUILTIN_PLUGINS["compress-lz4"]()).default as Plugin;
  const none = (await BUILTIN_PLUGINS["compress-none"]()).default as Plugin;
  assert.deepEqual([lz4.provides, none.provides], [["compressor:lz4"], ["compressor:none"]]);
  assert.equal(lz4.options, none.options, "the same options schema");
  const identity = framedCodecPlugin({ id: "compress-identity", description: "test", codec: noneCodec });
  assert.deepEqual(identity.provides, ["compressor:none"]);
  const limited = await instantiate(identity, { maxDecompressedBytes: 1024 });
  const large = await (await instantiate(identity)).compress(new Uint8Array(2048));
  await assert.rejects(limited.decompress(large), { code: "FRAME_TOO_LARGE" });
  await assert.rejects(instantiate(identity, { maxDecompressedBytes: 0 }), { code: "INVALID_ARGUMENT" });
  for (const check of pluginCompliance(identity)) await check.run();
});
