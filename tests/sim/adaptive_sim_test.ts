import assert from "node:assert/strict";
import { simulateAdaptive } from "./adaptive_sim.ts";
import { runSeeds } from "./run.ts";

// Bun runs the same schedules more slowly; it runs a fifth of them (Deno runs every one).
const SCHEDULES = typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? 200 : 40;
const BATCH = 40;

for (let from = 1; from <= SCHEDULES; from += BATCH) {
  Deno.test(`adaptive engine: seeds ${from}-${from + BATCH - 1} switch Raft ⇄ PBFT under load, crashes and a replica down across a switch, staying safe and linearizable`, async () => {
    const lines: string[] = [];
    const { failing } = await runSeeds("adaptive", from, BATCH, (line) => lines.push(line));
    assert.deepEqual(failing, [], lines.join("\n"));
  });
}

Deno.test("adaptive simulation: the schedules switch several times both ways, force a hold, and bring a replica back across a switch", async () => {
  const totals: Record<string, number> = {};
  for (let seed = 1; seed <= 10; seed++) {
    for (const [name, value] of Object.entries((await simulateAdaptive(seed)).counts)) {
      totals[name] = (totals[name] ?? 0) + value;
    }
  }
  assert.ok(totals.switches >= 30, `only ${totals.switches} switches in 10 schedules`);
  for (const fault of ["crashes", "fetched", "downAcrossSwitch", "forced", "uncertain"]) {
    assert.ok(totals[fault] > 0, `no ${fault} in 10 schedules`);
  }
  assert.ok(totals.completed > 1000, "the clients got work done");
});
