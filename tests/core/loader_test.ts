import assert from "node:assert/strict";
import { capability, ManualClock, silentLogger, SwitchyardError, ValidationError } from "../../mod.ts";
import { type LoaderOptions, loadPlugins, npmToBare, type PluginRecord } from "../../core/loading/loader.ts";
import { MetricsRegistry } from "../../core/control/metrics.ts";
import { MemoryHost, pluginFile, probePluginSource } from "../support/memory_host.ts";
import { builtinsOf, testPlugin } from "../support/test_plugins.ts";

function options(host: MemoryHost, extra: Partial<LoaderOptions> = {}): LoaderOptions {
  return { host, clock: new ManualClock(), logger: silentLogger, metrics: new MetricsRegistry(), ...extra };
}

const manifest = (plugins: unknown[], slots: unknown = {}) => JSON.stringify({ plugins, slots });
const byId = (records: PluginRecord[]) => Object.fromEntries(records.map((record) => [record.id, record]));

Deno.test("a valid manifest loads path, built-in and npm-free plugins in order", async () => {
  const host = new MemoryHost();
  const entry = await pluginFile(host, "plugins/rtt.ts", probePluginSource("probe-file"));
  const imported: string[] = [];
  const builtins = builtinsOf([testPlugin({ id: "ext" })], imported);
  host.write("manifest.json", manifest([{ id: "probe-file", ...entry }, { id: "ext", module: "builtin:ext" }]));
  const loaded = await loadPlugins("manifest.json", options(host, { builtins }));
  const records = byId(loaded.records());
  assert.equal(records["probe-file"].state, "loaded");
  assert.equal(records["probe-file"].version, "1.0.0");
  assert.equal(records["probe-file"].kind, "probe");
  assert.equal(records.ext.state, "pending", "extensions wait for the manager");
  const probe = loaded.instance<{ measure(): Promise<unknown> }>("probe-file");
  assert.deepEqual(await probe?.measure(), { rttMs: 1 });
  assert.deepEqual(imported, ["ext"]);
  assert.equal(loaded.source, "/virtual/manifest.json");
});

Deno.test("bad JSON is rejected naming the file", async () => {
  const host = new MemoryHost().write("m.json", "{ plugins: [");
  await assert.rejects(loadPlugins("m.json", options(host)), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.equal(error.code, "MANIFEST_INVALID");
    assert.match(error.message, /manifest \/virtual\/m\.json is invalid/);
    assert.match(error.message, /not valid JSON/);
    return true;
  });
  await assert.rejects(loadPlugins("nowhere.json", options(host)), /manifest \/virtual\/nowhere\.json cannot be read/);
});

Deno.test("schema errors name the file, the entry and the field", async () => {
  const host = new MemoryHost().write(
    "m.json",
    manifest(
      [
        { id: "a", module: "https://example.com/evil.js" },
        { id: "b", module: "./b.ts" },
        { id: "a", module: "builtin:a", colour: "red" },
      ],
      { compression: { datacenter: "a", internet: "zz", hybrid: "a" } },
    ),
  );
  await assert.rejects(loadPlugins("m.json", options(host)), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    const paths = error.issues.map((issue) => issue.path);
    assert.ok(paths.includes("plugins.0.module"), paths.join());
    assert.ok(paths.includes("plugins.2.colour"), paths.join());
    assert.match(error.message, /plugins\.0\.module: must be "builtin:<id>".*\(entry "a"\)/);
    return true;
  });
  host.write(
    "m2.json",
    manifest([{ id: "a", module: "builtin:a" }, { id: "b", module: "./b.ts" }, { id: "a", module: "builtin:a" }], {
      compression: { datacenter: "a", internet: "zz", hybrid: "a" },
    }),
  );
  await assert.rejects(loadPlugins("m2.json", options(host)), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((issue) => issue.path), [
      "plugins.1.integrity",
      "plugins.2.id",
      "slots.compression.internet",
    ]);
    assert.match(error.message, /integrity: is required for a path module \(entry "b"\)/);
    return true;
  });
});

Deno.test("each broken plugin is recorded with its stage and reason, and the rest still load", async () => {
  const host = new MemoryHost();
  const good = await pluginFile(host, "good.ts", probePluginSource("good"));
  const unknownKind = await pluginFile(
    host,
    "kind.ts",
    probePluginSource("weird-kind").replace('kind: "probe"', 'kind: "teleporter"'),
  );
  const tampered = await pluginFile(host, "tampered.ts", probePluginSource("tampered"));
  host.write("tampered.ts", probePluginSource("tampered", "", 999)); // changed after hashing
  const oldCore = await pluginFile(host, "old.ts", probePluginSource("old-core").replace('"^0.1.0"', '"^2.0.0"'));
  const browser = await pluginFile(
    host,
    "browser.ts",
    probePluginSource("browser-only").replace('runtimes: ["deno", "bun", "node"]', 'runtimes: ["deno", "browser"]'),
  );
  const elsewhere = await pluginFile(
    host,
    "elsewhere.ts",
    probePluginSource("elsewhere").replace('runtimes: ["deno", "bun", "node"]', 'runtimes: ["node"]'),
  );
  const wrongId = await pluginFile(host, "wrong-id.ts", probePluginSource("not-what-manifest-says"));
  const syntax = await pluginFile(host, "syntax.ts", "export default {{{ nope");
  const builtins = builtinsOf([
    testPlugin({
      id: "thrower",
      kind: "probe",
      create: () => {
        throw new Error("no RDMA device found");
      },
    }),
    testPlugin({ id: "shapeless", kind: "probe", create: () => ({ name: 3 }) }),
    testPlugin({ id: "needs-ffi", permissions: ["ffi"] }),
  ]);
  host.denied.add("ffi");
  if (host.runtime === "node") host.runtime = "deno"; // the "elsewhere" case needs a runtime other than node
  host.write(
    "m.json",
    manifest([
      { id: "good", ...good },
      { id: "weird-kind", ...unknownKind },
      { id: "missing", module: "./missing.ts", integrity: good.integrity },
      { id: "no-such-builtin", module: "builtin:no-such-builtin" },
      { id: "tampered", ...tampered },
      { id: "old-core", ...oldCore },
      { id: "browser-only", ...browser },
      { id: "elsewhere", ...elsewhere },
      { id: "wrong-id", ...wrongId },
      { id: "syntax", ...syntax },
      { id: "thrower", module: "builtin:thrower" },
      { id: "shapeless", module: "builtin:shapeless" },
      { id: "needs-ffi", module: "builtin:needs-ffi" },
      { id: "off", module: "builtin:off", enabled: false },
    ]),
  );
  const records = byId((await loadPlugins("m.json", options(host, { builtins }))).records());
  const expect = (id: string, stage: string | undefined, pattern: RegExp) => {
    assert.equal(records[id].stage, stage, `${id}: ${records[id].reason}`);
    assert.match(records[id].reason ?? "", pattern, id);
  };
  assert.equal(records.good.state, "loaded");
  expect(
    "weird-kind",
    "validate",
    /kind must be one of transport, consensus, compressor, probe, extension, got "teleporter"/,
  );
  expect("missing", "import", /cannot read module \/virtual\/missing\.ts: ENOENT/);
  expect(
    "no-such-builtin",
    "import",
    /no built-in plugin "no-such-builtin" \(built-ins: thrower, shapeless, needs-ffi\)/,
  );
  expect("tampered", "integrity", /does not match its integrity: the manifest says sha384-.* the file is sha384-/);
  expect("old-core", "compat", /needs core \^2\.0\.0, but this core is 0\.1\.0/);
  expect("browser-only", "validate", /compat\.runtimes\.1 must be one of deno, bun, node, got "browser"/);
  expect("elsewhere", "compat", /runs on node, not on (deno|bun)/);
  expect("wrong-id", "validate", /declares id "not-what-manifest-says", but the manifest entry is "wrong-id"/);
  expect("syntax", "import", /failed to evaluate/);
  expect("thrower", "create", /create\(\) threw: no RDMA device found/);
  expect("shapeless", "contract", /instance\.name: a probe must have name \(string\), got number/);
  expect("needs-ffi", "permissions", /needs permission ffi \(run with --allow-ffi\)/);
  assert.equal(records.off.state, "disabled");
  for (const record of Object.values(records)) {
    if (!["good", "off"].includes(record.id)) assert.equal(record.state, "failed", record.id);
  }
});

Deno.test("requires are resolved against provides; creation follows dependencies", async () => {
  const host = new MemoryHost();
  const order: string[] = [];
  const seen: Record<string, unknown> = {};
  const builtins = builtinsOf([
    testPlugin({
      id: "consumer",
      requires: ["cap:provider"],
      create: (context) => {
        order.push("consumer");
        seen.provider = context.require(capability("cap:provider"));
        assert.throws(() => context.require(capability("cap:undeclared")), /does not declare/);
        return {};
      },
    }),
    testPlugin({ id: "provider", create: () => (order.push("provider"), { name: "the provider" }) }),
    testPlugin({ id: "orphan", requires: ["cap:nobody"] }),
    testPlugin({ id: "orphan-child", requires: ["cap:orphan"] }),
    testPlugin({ id: "cycle-a", requires: ["cap:cycle-b"] }),
    testPlugin({ id: "cycle-b", requires: ["cap:cycle-a"] }),
  ]);
  host.write(
    "m.json",
    manifest(
      ["consumer", "provider", "orphan", "orphan-child", "cycle-a", "cycle-b"].map((id) => ({
        id,
        module: `builtin:${id}`,
      })),
    ),
  );
  const loaded = await loadPlugins("m.json", options(host, { builtins }));
  const records = byId(loaded.records());
  assert.equal(records.consumer.state, "pending");
  assert.equal(records.provider.state, "pending");
  // Extensions are created with the manager; create them with a stand-in.
  await loaded.createExtensions({} as never);
  assert.deepEqual(order, ["provider", "consumer"]);
  assert.deepEqual(seen.provider, { name: "the provider" });
  assert.match(records.orphan.reason ?? "", /requires "cap:nobody", which no loadable plugin provides/);
  const after = byId(loaded.records());
  assert.equal(after.consumer.state, "loaded");
  assert.equal(after["orphan-child"].stage, "dependencies");
  assert.match(after["cycle-a"].reason ?? "", /dependency cycle: "cycle-a" -> "cycle-b" -> "cycle-a"/);
  assert.equal(after["cycle-b"].stage, "dependencies");
});

Deno.test("an entry's uses picks the provider of a capability; a wrong or needless pick is refused, naming it", async () => {
  const host = new MemoryHost();
  const seen: Record<string, unknown> = {};
  const consumer = (id: string) =>
    testPlugin({
      id,
      requires: ["cap:wire"],
      create: (context) => {
        seen[id] = context.require(capability("cap:wire"));
        return {};
      },
    });
  const builtins = builtinsOf([
    consumer("first-in-order"),
    consumer("picks-second"),
    consumer("picks-nobody"),
    consumer("picks-needlessly"),
    testPlugin({ id: "wire-a", provides: ["cap:wire"], create: () => ({ name: "a" }) }),
    testPlugin({ id: "wire-b", provides: ["cap:wire"], create: () => ({ name: "b" }) }),
  ]);
  host.write(
    "m.json",
    manifest([
      { id: "first-in-order", module: "builtin:first-in-order" },
      { id: "picks-second", module: "builtin:picks-second", uses: { "cap:wire": "wire-b" } },
      { id: "picks-nobody", module: "builtin:picks-nobody", uses: { "cap:wire": "first-in-order" } },
      { id: "picks-needlessly", module: "builtin:picks-needlessly", uses: { "cap:other": "wire-a" } },
      { id: "wire-a", module: "builtin:wire-a" },
      { id: "wire-b", module: "builtin:wire-b" },
    ]),
  );
  const loaded = await loadPlugins("m.json", options(host, { builtins }));
  await loaded.createExtensions({} as never);
  assert.deepEqual(seen, { "first-in-order": { name: "a" }, "picks-second": { name: "b" } });
  const records = byId(loaded.records());
  assert.match(
    records["picks-nobody"].reason ?? "",
    /uses "first-in-order" for "cap:wire", which is not a loadable plugin providing it/,
  );
  assert.match(records["picks-needlessly"].reason ?? "", /uses a provider for "cap:other", which it does not require/);
});

Deno.test("a capability token naming a kind is refused when its provider is of another kind", async () => {
  const host = new MemoryHost();
  const outcomes: string[] = [];
  const builtins = builtinsOf([
    testPlugin({
      id: "consumer",
      kind: "probe",
      requires: ["cap:provider"],
      create: (context) => {
        try {
          context.require(capability("cap:provider", "transport"));
          outcomes.push("handed over");
        } catch (error) {
          outcomes.push(error instanceof SwitchyardError ? `${error.code}: ${error.message}` : String(error));
        }
        outcomes.push(`as a probe: ${context.require(capability("cap:provider", "probe")).name}`);
        return { name: "consumer", measure: () => Promise.resolve({ rttMs: 1 }) };
      },
    }),
    testPlugin({
      id: "provider",
      kind: "probe",
      create: () => ({ name: "provided", measure: () => Promise.resolve({ rttMs: 2 }) }),
    }),
  ]);
  host.write("m.json", manifest(["consumer", "provider"].map((id) => ({ id, module: `builtin:${id}` }))));
  const records = byId((await loadPlugins("m.json", options(host, { builtins }))).records());
  assert.equal(records.consumer.state, "loaded");
  assert.deepEqual(outcomes, [
    'PLUGIN_INVALID: plugin "consumer" asked for "cap:provider" as a transport, but its provider "provider" is a probe',
    "as a probe: provided",
  ]);
});

Deno.test("options are validated with the plugin's schema, naming the field", async () => {
  const host = new MemoryHost();
  host.write(
    "m.json",
    manifest([{ id: "probe-replay", module: "builtin:probe-replay", options: { steps: [], jitterRatio: 3 } }]),
  );
  const { BUILTIN_PLUGINS } = await import("../../plugins/builtin.ts");
  const records = byId((await loadPlugins("m.json", options(host, { builtins: BUILTIN_PLUGINS }))).records());
  assert.equal(records["probe-replay"].stage, "options");
  assert.match(records["probe-replay"].reason ?? "", /plugins\.0\.options\.steps: needs at least one step/);
  assert.match(records["probe-replay"].reason ?? "", /plugins\.0\.options\.jitterRatio/);
});

Deno.test("a factory that never returns is cut at createTimeoutMs", async () => {
  const host = new MemoryHost();
  const clock = new ManualClock();
  const builtins = builtinsOf([testPlugin({ id: "hangs", kind: "probe", create: () => new Promise(() => {}) })]);
  host.write("m.json", manifest([{ id: "hangs", module: "builtin:hangs" }]));
  const loading = loadPlugins("m.json", options(host, { builtins, clock, createTimeoutMs: 1_000 }));
  await clock.advance(1_000);
  const records = byId((await loading).records());
  assert.match(records.hangs.reason ?? "", /did not finish within 1000 ms/);
});

Deno.test("npm specifiers are imported (bare where the runtime has no npm: scheme)", async () => {
  assert.equal(npmToBare("npm:valibot@1.1.0"), "valibot");
  assert.equal(npmToBare("npm:@scope/pkg@^2/sub/path.js"), "@scope/pkg/sub/path.js");
  assert.equal(npmToBare("npm:left-pad"), "left-pad");
  const host = new MemoryHost().write("m.json", manifest([{ id: "valibot", module: "npm:valibot@^1.1.0" }]));
  const records = byId((await loadPlugins("m.json", options(host))).records());
  // valibot is importable but is no plugin: the import worked, validation says why it is refused.
  assert.equal(records.valibot.stage, "validate");
  assert.match(records.valibot.reason ?? "", /not a valid plugin/);
  assert.deepEqual(host.imported, [host.runtime === "deno" ? "npm:valibot@^1.1.0" : "valibot"]);
});

Deno.test("a path or URL after npm: is refused on every runtime before anything is imported", async () => {
  const refused = ["npm:/abs/path.js", "npm:file:///tmp/plugin.js", "npm:../plugin.js", "npm:pkg/../../x.js"];
  for (const specifier of refused) {
    assert.throws(() => npmToBare(specifier), (error: unknown) => {
      assert.ok(error instanceof ValidationError, String(error));
      assert.equal(error.code, "PLUGIN_INVALID");
      assert.deepEqual(error.issues.map((issue) => issue.path), ["module"]);
      return true;
    }, specifier);
  }
  for (const runtime of ["deno", "bun", "node"] as const) {
    for (const specifier of refused) {
      const host = new MemoryHost().write("m.json", manifest([{ id: "p", module: specifier }]));
      host.runtime = runtime;
      await assert.rejects(loadPlugins("m.json", options(host)), (error: unknown) => {
        assert.ok(error instanceof ValidationError && error.code === "MANIFEST_INVALID", String(error));
        assert.deepEqual(error.issues.map((issue) => issue.path), ["plugins.0.module"]);
        return true;
      });
      assert.deepEqual(host.imported, [], `${runtime}, ${specifier}: nothing imported`);
    }
  }
});

Deno.test("loader failures never escape as exceptions from plugins", async () => {
  const host = new MemoryHost();
  const builtins = builtinsOf([testPlugin({ id: "x", create: () => Promise.reject("a bare string") })]);
  host.write("m.json", manifest([{ id: "x", module: "builtin:x" }]));
  const loaded = await loadPlugins("m.json", options(host, { builtins }));
  await loaded.createExtensions({} as never);
  assert.match(byId(loaded.records()).x.reason ?? "", /a bare string/);
  assert.ok(!(byId(loaded.records()).x.reason ?? "").includes("SwitchyardError"));
  assert.ok(SwitchyardError);
});
