/**
 * `deno task bench`: runs the benchmarks, prints Markdown tables, then the
 * one table of every section's headline figures (`summary.ts`), and writes
 * `bench/results/latest.json`. Every figure stands beside a baseline measured
 * in the same run on the same machine.
 *
 * Usage: `deno task bench [--only compression …]` (`--summary-only`: the one
 * table again from the recorded results, nothing run).
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { currentRuntime } from "../core/util/runtime.ts";
import { benchAdaptive } from "./adaptive.ts";
import { benchAdmin } from "./admin.ts";
import { benchCluster } from "./cluster.ts";
import { benchCompression } from "./compression.ts";
import { benchConsensus } from "./consensus.ts";
import { benchPbft } from "./pbft.ts";
import { benchSplit } from "./split.ts";
import { benchTransport } from "./transport.ts";
import { headlineRows, headlineTable } from "./summary.ts";

const SECTIONS: Record<string, () => Promise<{ markdown: string; results: Record<string, unknown> }>> = {
  compression: benchCompression,
  admin: benchAdmin,
  transport: benchTransport,
  consensus: benchConsensus,
  pbft: benchPbft,
  adaptive: benchAdaptive,
  cluster: benchCluster,
  split: benchSplit,
};

const { values } = parseArgs({
  args: Deno.args,
  options: { only: { type: "string", multiple: true }, "summary-only": { type: "boolean", default: false } },
});
const chosen = values["summary-only"] ? [] : values.only?.length ? values.only : Object.keys(SECTIONS);
for (const name of chosen) {
  if (!SECTIONS[name]) throw new Error(`unknown section "${name}" (known: ${Object.keys(SECTIONS).join(", ")})`);
}
const report: Record<string, unknown> = {
  generatedAt: new Date().toISOString(),
  runtime: `${currentRuntime()} ${Deno.version.deno}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model,
  sections: {},
};
for (const name of chosen) {
  console.error(`== ${name}`);
  const { markdown, results } = await SECTIONS[name]();
  (report.sections as Record<string, unknown>)[name] = results;
  console.log(`## ${name}\n\n${markdown}\n`);
}
// Sections not run this time keep their previous results, and say when they ran.
const target = new URL("./results/latest.json", import.meta.url);
const previous = await readFile(target, "utf8").then(JSON.parse).catch(() => ({ sections: {} }));
report.sections = { ...previous.sections, ...(report.sections as object) };
const ranNow = Object.fromEntries(chosen.map((name) => [name, report.generatedAt]));
report.sectionRanAt = { ...previous.sectionRanAt, ...ranNow };
const summary = headlineRows(report.sections as Record<string, unknown>);
report.summary = summary;
console.log(`## summary\n\n${headlineTable(summary)}\n`);
if (chosen.length > 0) {
  await writeFile(target, JSON.stringify(report, null, 2) + "\n");
  console.error(`wrote ${target.pathname}`);
}
