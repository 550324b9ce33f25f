/**
 * Writes `plugins/manifest.schema.json` from the manifest's valibot schema.
 * A test fails when the committed file differs from a fresh one.
 *
 * Usage: `deno task build:schema`
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { manifestJsonSchema } from "../core/loading/manifest_json_schema.ts";

const target = new URL("../plugins/manifest.schema.json", import.meta.url);
await writeFile(target, JSON.stringify(manifestJsonSchema(), null, 2) + "\n");
console.log(`wrote ${target.pathname}`);
