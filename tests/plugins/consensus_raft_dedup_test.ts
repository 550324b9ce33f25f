import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { FileWal, MemoryStorage } from "../../plugins/consensus-raft/mod.ts";
import { RecordingMachine } from "../../testing/consensus.ts";
import { stepUntil, stepUntilSettled } from "../../testing/advance.ts";
import { startRaftCluster } from "../support/raft_cluster.ts";

const encoder = new TextEncoder();

type Cluster = Awaited<ReturnType<typeof startRaftCluster<number>>>;

function settle<T>(cluster: Cluster, promise: Promise<T>): Promise<T> {
  return stepUntilSettled(() => cluster.clock.advance(10), promise, 2000, "did not settle");
}

function until(cluster: Cluster, done: () => boolean, what: string): Promise<void> {
  return stepUntil(() => cluster.clock.advance(10), done, 2000, `waited 20 s for ${what}`);
}

async function leaderOf(cluster: Cluster, among = cluster.replicas) {
  await until(cluster, () => among.some((replica) => replica.stats().role === "leader"), "a leader");
  return among.find((replica) => replica.stats().role === "leader")!;
}

function count(machine: RecordingMachine, command: string): number {
  return machine.commands.filter((applied) => applied === command).length;
}

async function withCluster(
  size: number,
  body: (cluster: Cluster, machines: RecordingMachine[]) => Promise<void>,
  options: Parameters<typeof startRaftCluster>[1] = {},
): Promise<void> {
  const machines = Array.from({ length: size }, () => new RecordingMachine());
  const cluster = await startRaftCluster(machines, options);
  try {
    await body(cluster, machines);
  } finally {
    await settle(cluster, cluster.close()); // closing over a slow link needs time to pass
  }
}

Deno.test("raft dedup: a proposal answered CONSENSUS_CLOSED that committed anyway, retried at the new leader, executes once", () =>
  withCluster(3, async (cluster, machines) => {
    const leader = await leaderOf(cluster);
    const identity = { clientId: "kv-client", sequence: 1 };
    await settle(cluster, leader.propose(encoder.encode("warm-up")));
    // The entry leaves for the followers at once; the leader is closed before it learns the commit.
    const lost = leader.propose(encoder.encode("append x"), identity);
    await leader.close();
    await assert.rejects(lost, (error) => error instanceof ConsensusError && error.code === "CONSENSUS_CLOSED");
    const survivors = cluster.replicas.filter((replica) => replica !== leader);
    const successor = await leaderOf(cluster, survivors);
    const retry = await settle(cluster, successor.propose(encoder.encode("append x"), identity));
    assert.equal(retry.duplicate, true, "the first attempt had committed: the retry is answered from the table");
    assert.equal(retry.result, 2, "with the result of the original execution");
    await settle(cluster, successor.propose(encoder.encode("end")));
    const live = machines.filter((_, i) => cluster.replicas[i] !== leader);
    await until(cluster, () => live.every((machine) => machine.commands.at(-1) === "end"), "replication");
    for (const machine of live) assert.equal(count(machine, "append x"), 1, machine.commands.join());
    assert.equal(successor.deduplication.duplicates, 1);
  }));

Deno.test("raft dedup: a proposal that timed out but committed later, retried, executes once", () =>
  withCluster(3, async (cluster, machines) => {
    const leader = await leaderOf(cluster);
    const leaderAddress = `raft-${leader.stats().nodeId}`;
    for (const replica of cluster.replicas) {
      if (replica !== leader) cluster.network.setLink(leaderAddress, `raft-${replica.stats().nodeId}`, { delayMs: 40 });
    }
    const identity = { clientId: "slow-client", sequence: 1 };
    await assert.rejects(
      settle(cluster, leader.propose(encoder.encode("slow"), { ...identity, timeoutMs: 30 })),
      (error) => error instanceof ConsensusError && error.code === "CONSENSUS_TIMEOUT",
    );
    await until(cluster, () => machines.every((machine) => count(machine, "slow") === 1), "the late commit");
    const retry = await settle(cluster, leader.propose(encoder.encode("slow"), identity));
    assert.deepEqual([retry.duplicate, retry.result], [true, 1]);
    await settle(cluster, leader.propose(encoder.encode("end")));
    await until(cluster, () => machines.every((machine) => machine.commands.at(-1) === "end"), "replication");
    for (const machine of machines) assert.deepEqual(machine.commands, ["slow", "end"]);
  }));

const storages = [new MemoryStorage(), new MemoryStorage(), new MemoryStorage()];

Deno.test("raft dedup: the table is bounded and every replica evicts the same clients", () =>
  withCluster(3, async (cluster, machines) => {
    const leader = await leaderOf(cluster);
    for (let client = 1; client <= 5; client++) {
      for (let sequence = 1; sequence <= client; sequence++) {
        await settle(
          cluster,
          leader.propose(encoder.encode(`c${client}.${sequence}`), { clientId: `c${client}`, sequence }),
        );
      }
    }
    await until(cluster, () => machines.every((machine) => machine.commands.length === 15), "replication");
    for (const replica of cluster.replicas) {
      assert.deepEqual(
        { clients: replica.deduplication.clients, evicted: replica.deduplication.evictedClients },
        { clients: 2, evicted: 3 },
      );
      await settle(cluster, replica.snapshot());
    }
    const snapshots = await Promise.all(cluster.replicas.map(async (_, i) => (await storages[i].load())!.snapshot));
    assert.ok(snapshots.every((snapshot) => snapshot.index === snapshots[0].index));
    for (const snapshot of snapshots) assert.deepEqual(snapshot.data, snapshots[0].data, "the same table everywhere");
    // c1–c3 were evicted (least recently active): c3's retry is refused, not applied again; c5 is still known.
    await assert.rejects(
      settle(cluster, leader.propose(encoder.encode("c3.3"), { clientId: "c3", sequence: 3 })),
      (error) => error instanceof ConsensusError && error.code === "UNKNOWN_CLIENT",
    );
    const kept = await settle(cluster, leader.propose(encoder.encode("c5.5"), { clientId: "c5", sequence: 5 }));
    assert.equal(kept.duplicate, true);
    for (const machine of machines) assert.equal(count(machine, "c3.3"), 1);
  }, { deduplication: { maxClients: 2 }, storage: (id) => storages[Number(id.slice(1)) - 1] }));

Deno.test("raft dedup: a node restarted on its file WAL from a snapshot still answers the duplicate", async () => {
  const directory = join(tmpdir(), `switchyard-dedup-${crypto.randomUUID()}`);
  try {
    // One node commits alone; the file log's syncs are real I/O, so proposals are awaited, not stepped.
    const first = new RecordingMachine();
    const cluster = await startRaftCluster([first], { storage: () => new FileWal(directory) });
    const [node] = cluster.replicas;
    await leaderOf(cluster);
    const original = await node.propose(encoder.encode("once"), { clientId: "c", sequence: 1 });
    await node.snapshot();
    await node.propose(encoder.encode("after"));
    const second = new RecordingMachine();
    await cluster.restart(0, second);
    await leaderOf(cluster);
    assert.ok(cluster.replicas[0].stats().snapshotIndex >= original.index, "restored from the snapshot");
    const retry = await cluster.replicas[0].propose(encoder.encode("once"), { clientId: "c", sequence: 1 });
    assert.deepEqual(retry, { ...original, duplicate: true });
    assert.deepEqual(second.commands, ["once", "after"]);
    await cluster.close();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});

Deno.test("raft dedup: a log written before identities existed (raw commands, a bare snapshot) still loads", async () => {
  const storage = new MemoryStorage();
  await storage.compact({ index: 1, term: 1, members: ["n1"], data: encoder.encode(JSON.stringify(["old"])) });
  await storage.save({
    entries: [{ index: 2, term: 1, kind: "command", data: encoder.encode("raw") }],
    hardState: { term: 1, vote: "n1", commit: 2 },
  });
  const machine = new RecordingMachine();
  const cluster = await startRaftCluster([machine], { storage: () => storage });
  try {
    const node = await leaderOf(cluster);
    await settle(cluster, node.propose(encoder.encode("new"), { clientId: "c", sequence: 1 }));
    assert.deepEqual(machine.commands, ["old", "raw", "new"]);
  } finally {
    await cluster.close();
  }
});
