/**
 * Prints the `sha384-…` integrity of each file given, for manifest entries.
 *
 * Usage: `deno task plugin:integrity path/to/plugin.ts [...]`
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { integrityOf } from "../core/loading/loader.ts";

const files = typeof Deno !== "undefined" ? Deno.args : (await import("node:process")).argv.slice(2);
if (files.length === 0) {
  console.error("usage: deno task plugin:integrity <file> [...]");
  throw new Error("no file given");
}
for (const file of files) console.log(`${await integrityOf(new Uint8Array(await readFile(file)))}  ${file}`);
