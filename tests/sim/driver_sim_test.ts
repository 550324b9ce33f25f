import assert from "node:assert/strict";
import { ManualClock } from "../../core/util/clock.ts";
import { MemoryStorage } from "../../plugins/consensus-raft/mod.ts";
import { simulateRaftDriver, SlowStorage } from "./driver_sim.ts";
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

Deno.test("raft driver simulation: a crashed process's disk handle writes nothing more, neither syncs under way nor later ones", async () => {
  const clock = new ManualClock();
  const disk = { storage: new MemoryStorage(), vote: null };
  const handle = new SlowStorage(disk, clock, () => 5);
  const entry = (index: number) => ({ index, term: 1, kind: "noop" as const, data: new Uint8Array() });
  const synced = handle.save({ entries: [entry(1)], hardState: { term: 1, vote: "n1", commit: 0 } });
  await clock.advance(5);
  await synced;
  const underWay = handle.save({ entries: [entry(2)], hardState: { term: 2, vote: "n2", commit: 0 } });
  await clock.advance(2);
  handle.crash();
  await clock.advance(3);
  await underWay;
  // The dead process's loop goes on and saves again: that write must not reach the disk either.
  const later = handle.save({ entries: [entry(3)], hardState: { term: 3, vote: "n3", commit: 0 } });
  await clock.advance(5);
  await later;
  const state = await disk.storage.load();
  assert.deepEqual(state!.entries.map((stored) => stored.index), [1]);
  assert.deepEqual(state!.hardState, { term: 1, vote: "n1", commit: 0 });
  assert.equal(disk.vote, "n1");
  // A new process's handle on the same disk writes again.
  const next = new SlowStorage(disk, clock, () => 1);
  const written = next.save({ entries: [entry(2)] });
  await clock.advance(1);
  await written;
  assert.deepEqual((await disk.storage.load())!.entries.map((stored) => stored.index), [1, 2]);
});
