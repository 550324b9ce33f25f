import assert from "node:assert/strict";
import { simulateRaftDriver } from "./driver_sim.ts";
import { runSeeds } from "./run.ts";

const SCHEDULES = 100;
const BATCH = 50;

for (let from = 1; from <= SCHEDULES; from += BATCH) {
  Deno.test(`raft driver on the memory transport: seeds ${from}-${from + BATCH - 1} of delay, loss, skewed ticks and crashes while syncing stay safe and linearizable`, async () => {
    const lines: string[] = [];
    const { failing } = await runSeeds("raft-driver", from, BATCH, (line) => lines.push(line));
    assert.deepEqual(failing, [], lines.join("\n"));
  });
}

Deno.test("raft driver simulation: the schedules crash nodes and whole clusters while they sync, some authenticated", async () => {
  const totals: Record<string, number> = {};
  for (let seed = 1; seed <= 10; seed++) {
    for (const [name, value] of Object.entries((await simulateRaftDriver(seed)).counts)) {
      totals[name] = (totals[name] ?? 0) + value;
    }
  }
  for (const fault of ["crashes", "syncCrashes", "clusterCrashes", "unknown", "authenticated"]) {
    assert.ok(totals[fault] > 0, `no ${fault} in 10 schedules`);
  }
  assert.ok(totals.completed > 500, "the clients got work done");
});
