import assert from "node:assert/strict";
import { seededRandom } from "../../core/util/random.ts";
import { KvHttpClient, UnknownOutcome } from "../../examples/kv/client.ts";
import { KvStore } from "../../runtime/kv/mod.ts";
import { stepUntil, stepUntilSettled } from "../../testing/advance.ts";
import { type InProcessKvCluster, startKvCluster } from "../support/kv_cluster.ts";
import type { KvStateMachine } from "../../runtime/kv/mod.ts";
import { ManualClock } from "../../core/util/clock.ts";
import { type ConsensusEngine, ConsensusError, type ConsensusStateMachine } from "../../core/contracts/consensus.ts";
import { MemoryStorage, RaftConsensus } from "../../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { testPeerKeys } from "../support/raft_cluster.ts";

function settle<T>(cluster: InProcessKvCluster, promise: Promise<T>): Promise<T> {
  return stepUntilSettled(() => cluster.raft.clock.advance(10), promise, 5000, "did not settle");
}

async function leaderIndex(cluster: InProcessKvCluster): Promise<number> {
  const { replicas } = cluster.raft;
  await stepUntil(
    () => cluster.raft.clock.advance(10),
    () => replicas.some((replica) => replica.stats().role === "leader"),
    500,
    "no leader",
  );
  return replicas.findIndex((replica) => replica.stats().role === "leader");
}

async function withKvCluster(body: (cluster: InProcessKvCluster) => Promise<void>): Promise<void> {
  const cluster = await startKvCluster(3);
  try {
    await leaderIndex(cluster);
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

/** Every replica's value of `key`, once they agree on what the leader has. */
async function valuesEverywhere(cluster: InProcessKvCluster, key: string): Promise<(string | null)[]> {
  const leader = await leaderIndex(cluster);
  const expected = cluster.machines[leader].get(key);
  await stepUntil(
    () => cluster.raft.clock.advance(10),
    () => cluster.machines.every((machine: KvStateMachine) => machine.get(key) === expected),
    500,
    "replication",
  );
  return cluster.machines.map((machine) => machine.get(key));
}

Deno.test("kv client: an append whose answer was lost, retried across a leader change, executes once", () =>
  withKvCluster(async (cluster) => {
    const leader = await leaderIndex(cluster);
    const successor = (leader + 1) % 3;
    let faults = 0;
    const client = new KvHttpClient(cluster.urls, {
      clock: cluster.raft.clock,
      fetch: async (url, init) => {
        const response = await cluster.fetch(url, init);
        if (init.method === "POST" && faults++ === 0) {
          // Committed, but the answer is lost, and leadership moves before the retry.
          await cluster.raft.replicas[leader].transferLeadership(cluster.raft.replicas[successor].stats().nodeId);
          throw new TypeError("connection reset by peer");
        }
        return response;
      },
    });
    await settle(cluster, client.put("k", "a,"));
    const appended = await settle(cluster, client.append("k", "b,"));
    assert.deepEqual([appended.duplicate, appended.previous], [true, "a,"], "answered from the table");
    assert.ok(client.retries >= 1);
    assert.deepEqual(await valuesEverywhere(cluster, "k"), ["a,b,", "a,b,", "a,b,"]);
  }));

Deno.test("kv client: under seeded faults (requests and answers lost) every acknowledged append applies exactly once", () =>
  withKvCluster(async (cluster) => {
    const random = seededRandom(2024);
    const client = new KvHttpClient(cluster.urls, { clock: cluster.raft.clock, fetch: cluster.fetch });
    const faulty = new KvHttpClient(cluster.urls, {
      clock: cluster.raft.clock,
      timeoutMs: 60_000,
      fetch: async (url, init) => {
        const roll = random.next();
        if (roll < 0.2) throw new TypeError("connection refused"); // the request is lost
        const response = await cluster.fetch(url, init);
        if (roll < 0.5) throw new TypeError("connection reset"); // the answer is lost
        return response;
      },
    });
    const expected: string[] = [];
    for (let i = 0; i < 30; i++) {
      await settle(cluster, faulty.append("log", `${i},`));
      expected.push(`${i},`);
    }
    assert.ok(faulty.retries >= 5, `only ${faulty.retries} retries: the faults did not bite`);
    assert.equal(await settle(cluster, client.get("log")), expected.join(""));
    assert.deepEqual(new Set(await valuesEverywhere(cluster, "log")), new Set([expected.join("")]));
  }));

Deno.test("kv client: a write never executed, on a client the cluster does not know, starts over as a new client", () =>
  withKvCluster(async (cluster) => {
    let dropAll = true;
    const client = new KvHttpClient(cluster.urls, {
      clock: cluster.raft.clock,
      timeoutMs: 500,
      clientId: "first-id",
      fetch: (url, init) => dropAll ? Promise.reject(new TypeError("unreachable")) : cluster.fetch(url, init),
    });
    // Sequence 1 never reaches the cluster: the outcome is unknown to the client.
    await assert.rejects(settle(cluster, client.append("k", "lost,")), UnknownOutcome);
    dropAll = false;
    // Sequence 2 of a client the cluster never saw is refused unexecuted; the client takes a new id and goes on.
    const result = await settle(cluster, client.append("k", "kept,"));
    assert.equal(result.duplicate, false);
    assert.notEqual(client.clientId, "first-id");
    assert.deepEqual(await valuesEverywhere(cluster, "k"), ["kept,", "kept,", "kept,"]);
  }));

Deno.test("kv store: writes carry the store's identity, and it starts over when the cluster does not know it", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 1 });
  const engine: ConsensusEngine = {
    name: "raft",
    create: <Result>(stateMachine: ConsensusStateMachine<Result>) =>
      new RaftConsensus<Result>({
        id: "n1",
        peers: { n1: "raft-n1" },
        transport: network.transport("raft-n1"),
        peerAuth: { keys: testPeerKeys },
        storage: new MemoryStorage(),
        stateMachine,
        clock,
      }),
  };
  const store = new KvStore(engine);
  await store.start();
  try {
    // Before the election the write is refused: sequence 1 of the store's id never executes.
    await assert.rejects(
      store.put("a", "1"),
      (error) => error instanceof ConsensusError && error.code === "NOT_LEADER",
    );
    const firstId = store.clientId;
    await stepUntil(() => clock.advance(10), () => store.consensus.stats().role === "leader", 500, "no leader");
    const put = await store.put("a", "2"); // sequence 2 of an unknown client: refused, then sent as a new client
    assert.equal(put.result, null);
    assert.notEqual(store.clientId, firstId);
    const identity = { clientId: "caller", sequence: 1 };
    await store.append("a", "+", identity);
    const retry = await store.append("a", "+", identity);
    assert.deepEqual([retry.duplicate, retry.result], [true, "2"]);
    assert.equal(await store.get("a"), "2+");
  } finally {
    await store.close();
  }
});
