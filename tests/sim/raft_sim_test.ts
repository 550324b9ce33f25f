import assert from "node:assert/strict";
import { runSeeds } from "./run.ts";
import { simulateRaft } from "./raft_sim.ts";

const SCHEDULES = 500;
const BATCH = 100;

for (let from = 1; from <= SCHEDULES; from += BATCH) {
  Deno.test(`raft simulation: seeds ${from}-${from + BATCH - 1} keep every invariant and a linearizable history`, async () => {
    const lines: string[] = [];
    const { failing } = await runSeeds("raft", from, BATCH, (line) => lines.push(line));
    assert.deepEqual(failing, [], lines.join("\n"));
  });
}

Deno.test("raft simulation: a seed replays exactly", () => {
  const first = simulateRaft(42);
  const second = simulateRaft(42);
  assert.deepEqual(second.counts, first.counts);
  assert.ok(first.counts.operations > 100, "the clients got work done");
  assert.ok(first.counts.messages > 1000);
});

Deno.test("raft simulation: the schedules exercise every fault", () => {
  const totals: Record<string, number> = {};
  for (let seed = 1; seed <= 50; seed++) {
    for (const [name, value] of Object.entries(simulateRaft(seed).counts)) totals[name] = (totals[name] ?? 0) + value;
  }
  for (
    const fault of [
      "crashes",
      "partitions",
      "membershipChanges",
      "transfers",
      "slowNodes",
      "leaderFaults",
      "voterCrashes",
      "snapshots",
      "dropped",
      "duplicated",
      "swapped",
    ]
  ) {
    assert.ok(totals[fault] > 0, `no ${fault} in 50 schedules`);
  }
});

Deno.test("raft simulation: an unknown engine is refused by name", async () => {
  await assert.rejects(runSeeds("paxos", 1, 1), /unknown engine "paxos"; available: raft, raft-driver/);
});
