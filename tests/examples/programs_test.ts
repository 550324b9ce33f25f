// The example programs as a user runs them (`deno task quick-start`, `deno task example:plugin`), each a subprocess of
// this runtime (Deno under deno test, Bun under bun test), checked by what they print. Both run on the real clock
// (about 10 s and 4 s), side by side in one test. Not run here: examples/dashboard/main.ts (binds the fixed port
// 7070 and serves until Ctrl-C; its endpoint and dashboard are tested on free ports elsewhere) and examples/kv/
// (node.ts and cluster.ts run in the crash tests).
import assert from "node:assert/strict";
import { type ProgramResult, runProgram } from "../support/run_program.ts";

/** The `from -> to (network: phase)` lines quick_start.ts prints at each switch. */
function switches(stdout: string): { from: string; to: string; phase: string }[] {
  return [...stdout.matchAll(/^\s*[\d.]+s\s+(\w+) -> (\w+)\s+\(network: ([^)]+)\)$/gm)].map(([, from, to, phase]) => ({
    from,
    to,
    phase,
  }));
}

/** Whether `wanted` appears in `list` in order (other entries may come between). */
function inOrder<T>(list: T[], wanted: T[], same: (a: T, b: T) => boolean): boolean {
  let next = 0;
  for (const item of list) if (next < wanted.length && same(item, wanted[next])) next++;
  return next === wanted.length;
}

function checkQuickStart({ code, stdout, stderr }: ProgramResult) {
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Switchyard quick start: watching a scripted network/);
  const seen = switches(stdout);
  const expected = [
    { from: "hybrid", to: "datacenter", phase: "same rack" },
    { from: "datacenter", to: "internet", phase: "WAN failover" },
    { from: "internet", to: "hybrid", phase: "metro link" },
    { from: "hybrid", to: "datacenter", phase: "back in the rack" },
  ];
  assert.ok(
    inOrder(seen, expected, (a, b) => a.from === b.from && a.to === b.to && a.phase === b.phase),
    `switches: ${JSON.stringify(seen)}`,
  );
  // The reason under each switch names the measured medians against the thresholds.
  assert.match(stdout, /datacenter -> internet .*\n\s+internet: rttMs [\d.]+ > 55, bandwidthMbps [\d.]+ < 900/);
  assert.match(stdout, /\[lz4\] drain\n\s+\[lz4\] deactivate/, "the outgoing implementation drains, then deactivates");
  assert.match(stdout, /^mode now: datacenter; mode changes: \d+; failed: 0$/m);
  assert.match(stdout, /^samples: \d+, probe errors: 0, /m);
}

function checkCustomPlugin({ code, stdout, stderr }: ProgramResult) {
  assert.equal(code, 0, stderr); // main.ts throws if a round trip fails
  assert.match(stdout, /^\s+compress-deflate\s+loaded\s+1\.0\.0/m, "the path plugin loads (its integrity is current)");
  assert.match(stdout, /^switch: datacenter -> internet$/m);
  const reports = [...stdout.matchAll(/^(.+?)\s+mode (\w+)\s+codec (\w+)\s+(\d+) -> (\d+) bytes/gm)];
  assert.deepEqual(reports.map(([, label]) => label.trim()), ["start", "during the WAN stretch", "back in the rack"]);
  for (const [line, , mode, codec, original, framed] of reports) {
    assert.equal(codec, mode === "internet" ? "deflate" : "none", `the codec follows the mode: ${line}`);
    if (codec === "deflate") assert.ok(Number(framed) < Number(original) / 2, `deflate compresses: ${line}`);
  }
}

Deno.test("examples: the quick start and the custom plugin program run and print what they say", async () => {
  const [quickStart, customPlugin] = await Promise.all([
    runProgram("examples/quick_start.ts", []),
    runProgram("examples/custom-plugin/main.ts", []),
  ]);
  checkQuickStart(quickStart);
  checkCustomPlugin(customPlugin);
});
