/**
 * `deno task doc:lint`: `deno doc --lint` over every entry point that
 * `deno.json` exports, together (a type one entry exports counts as public
 * for the others), then `deno check --doc` over them, which type-checks the
 * examples in their doc comments. Reading the entries from `deno.json`, a new
 * subpath cannot be left out of either check.
 *
 * @module
 */
import { readFileSync } from "node:fs";

const config = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8"));
const entries = [...new Set(Object.values(config.exports as Record<string, string>))];
for (const args of [["doc", "--lint", ...entries], ["check", "--doc", ...entries]]) {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: new URL("..", import.meta.url),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) Deno.exit(code);
}
