/**
 * PBFT simulation in the default test run: 500 seeded schedules (4 and 7
 * replicas, every Byzantine behaviour in turn), each checked for agreement,
 * validity and order integrity after every event, linearizability and
 * liveness at the end. A failing seed replays with
 * `deno task test:sim --engine pbft --seed S --verbose`.
 */
import assert from "node:assert/strict";
import { runSeeds } from "../run.ts";
import { runPbftSimulation } from "./pbft_sim.ts";
import { BEHAVIOURS } from "./replicas.ts";

const SCHEDULES = 500;
const BATCH = 100;

for (let from = 1; from <= SCHEDULES; from += BATCH) {
  Deno.test(`pbft simulation: seeds ${from}-${from + BATCH - 1} keep agreement, validity, linearizability and liveness`, async () => {
    const lines: string[] = [];
    const { failing } = await runSeeds("pbft", from, BATCH, (line) => lines.push(line));
    assert.deepEqual(failing, [], lines.join("\n"));
  });
}

Deno.test("pbft simulation: a seed replays exactly", () => {
  const first = runPbftSimulation(42);
  const second = runPbftSimulation(42);
  assert.deepEqual({ ...second, replicaStats: {} }, { ...first, replicaStats: {} });
  assert.deepEqual(second.replicaStats, first.replicaStats);
  assert.ok(first.completed > 50, `the clients got work done (${first.completed})`);
});

Deno.test("pbft simulation: the schedules cover both sizes, every behaviour, crashes, view changes and state transfers", () => {
  const seen = new Set<string>();
  const sizes = new Set<number>();
  let crashes = 0;
  let viewChanges = 0;
  let stateTransfers = 0;
  let garbage = 0;
  for (let seed = 1; seed <= 2 * (BEHAVIOURS.length + 1); seed++) {
    const result = runPbftSimulation(seed);
    sizes.add(result.size);
    for (const behaviour of Object.values(result.byzantine)) seen.add(behaviour);
    crashes += result.crashes;
    viewChanges += result.maxView;
    stateTransfers += result.stateTransfers;
    garbage += result.garbageFrames;
  }
  assert.deepEqual([...sizes].sort(), [4, 7]);
  assert.deepEqual([...seen].sort(), [...BEHAVIOURS].sort());
  for (const [name, count] of Object.entries({ crashes, viewChanges, stateTransfers, garbage })) {
    assert.ok(count > 0, `no ${name} in the first schedules`);
  }
});
