import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { CORE_VERSION, manifestJsonSchema, parseManifest, ValidationError } from "../../mod.ts";

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
