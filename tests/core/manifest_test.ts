import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { CORE_VERSION, parseManifest, ValidationError } from "../../mod.ts";
import { manifestJsonSchema } from "../../core/loading/public.ts";

Deno.test("the committed manifest JSON Schema matches a fresh one (run `deno task build:schema`)", async () => {
  const committed = JSON.parse(await readFile(new URL("../../plugins/manifest.schema.json", import.meta.url), "utf8"));
  assert.deepEqual(committed, manifestJsonSchema());
});

Deno.test("CORE_VERSION equals deno.json's version", async () => {
  const denoJson = JSON.parse(await readFile(new URL("../../deno.json", import.meta.url), "utf8"));
  assert.equal(CORE_VERSION, denoJson.version);
});

Deno.test("parseManifest fills defaults and keeps slots", () => {
  const manifest = parseManifest(
    JSON.stringify({
      plugins: [{ id: "a", module: "builtin:a" }],
      slots: { compression: { datacenter: "a", internet: "a", hybrid: "a" }, probes: ["a"] },
    }),
    "inline",
  );
  assert.equal(manifest.plugins[0].enabled, true);
  assert.deepEqual(manifest.slots.probes, ["a"]);
  assert.deepEqual(parseManifest('{"plugins":[]}', "inline").slots, {});
});

Deno.test("parseManifest rejects an unknown slot and a non-array plugin list", () => {
  assert.throws(() => parseManifest('{"plugins":{},"slots":{"storage":{}}}', "x.json"), (error: unknown) => {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((issue) => issue.path).sort(), ["plugins", "slots.storage"]);
    return true;
  });
});

const REFUSED_NPM = [
  "npm:/abs/path.js",
  "npm:file:///tmp/plugin.js",
  "npm:../plugin.js",
  "npm:./plugin.js",
  "npm:pkg/../../etc/passwd.js",
  "npm:pkg/./x.js",
  "npm:pkg//x.js",
  "npm:pkg@1.0.0/../x.js",
  "npm:pkg@file:../x",
  "npm:pkg@https://example.com/x.tgz",
  "npm:pkg@git+ssh://example.com/x.git",
  "npm:https://example.com/x.js",
  "npm:Upper-Case",
  "npm:_private",
  "npm:.hidden",
  "npm:@scope",
  "npm:@scope/",
  "npm:pkg%2f..",
  "npm:pkg\\..\\x.js",
  "npm:C:/x.js",
  `npm:${"a".repeat(215)}`,
];
const ACCEPTED_NPM = [
  "npm:valibot",
  "npm:valibot@^1.1.0",
  "npm:@scope/pkg@^2/sub/path.js",
  "npm:left-pad@latest",
  "npm:a.b-c_d@>=1.2.3",
  "npm:pkg@1.x||2.x/dist/.hidden.js",
  `npm:${"a".repeat(214)}`,
];

Deno.test("the manifest schema takes only valid npm package names (optional range and subpath) after npm:", () => {
  const parse = (module: string) =>
    parseManifest(JSON.stringify({ plugins: [{ id: "p", module }] }), "m.json").plugins[0].module;
  for (const module of ACCEPTED_NPM) assert.equal(parse(module), module);
  for (const module of REFUSED_NPM) {
    assert.throws(() => parse(module), (error: unknown) => {
      assert.ok(error instanceof ValidationError, `${module}: ${error}`);
      assert.equal(error.code, "MANIFEST_INVALID");
      assert.deepEqual([...new Set(error.issues.map((issue) => issue.path))], ["plugins.0.module"], module);
      return true;
    }, module);
  }
  // The JSON Schema carries the same pattern (the name's length is checked by the loader's schema only).
  const pattern = new RegExp(
    (manifestJsonSchema() as { properties: { plugins: { items: { properties: { module: { pattern: string } } } } } })
      .properties.plugins.items.properties.module.pattern,
  );
  for (const module of ACCEPTED_NPM) assert.ok(pattern.test(module), module);
  for (const module of REFUSED_NPM.slice(0, -1)) assert.ok(!pattern.test(module), module);
});
