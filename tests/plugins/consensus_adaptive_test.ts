import assert from "node:assert/strict";
import { type Consensus, ConsensusError, type ConsensusStateMachine } from "../../core/contracts/consensus.ts";
import type { AdaptiveConsensus, EpochResult } from "../../plugins/consensus-adaptive/mod.ts";
import { decodeEntry } from "../../plugins/consensus-adaptive/entries.ts";
import { resolveConfig } from "../../core/control/config.ts";
import { type AdaptiveTestCluster, startAdaptiveCluster } from "../support/adaptive_cluster.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An append-only list of strings; `apply` answers the list's length. */
class Appends implements ConsensusStateMachine<number> {
  items: string[] = [];
  apply(command: Uint8Array): number {
    this.items.push(decoder.decode(command));
    return this.items.length;
  }
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify(this.items));
  }
  restore(snapshot: Uint8Array): void {
    this.items = JSON.parse(decoder.decode(snapshot));
  }
}

/** Waits (real time) until `check` holds. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Proposes `text` at any replica, following NOT_LEADER hints and retrying through switches. */
async function write(cluster: AdaptiveTestCluster<number>, text: string, clientId: string, sequence: number) {
  let target = 0;
  for (let attempt = 0; attempt < 200; attempt++) {
    const replica = cluster.replicas[target % cluster.replicas.length];
    try {
      if (!replica) throw Object.assign(new Error("down"), { code: "DOWN" });
      return await replica.propose(encoder.encode(text), { clientId, sequence, timeoutMs: 2_000 });
    } catch (error) {
      const { code, leaderHint } = error as { code?: string; leaderHint?: string | null };
      if (code === "NOT_LEADER" && leaderHint) target = cluster.ids.indexOf(leaderHint);
      else target++;
      if (!["NOT_LEADER", "CONSENSUS_TIMEOUT", "PROPOSAL_DROPPED", "CONSENSUS_CLOSED", "DOWN"].includes(code ?? "")) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  throw new Error(`${text} was never acknowledged`);
}

function onEngine(cluster: AdaptiveTestCluster<number>, epoch: number, engine: string): boolean {
  return cluster.replicas.every((replica) =>
    replica && replica.epoch === epoch && replica.adaptiveStats().engine === engine && replica.stats().healthy
  );
}

/** Four replicas on Raft, with epoch 0's leader and its engine (whose calls a test may wrap). */
async function clusterWithRaftLeader() {
  const engines = new Map<string, Consensus<EpochResult<unknown>>>();
  const cluster = await startAdaptiveCluster(Array.from({ length: 4 }, () => new Appends()), {
    onEngine: (id, epoch, engine) => engines.set(`${id}/${epoch}`, engine),
  });
  try {
    await until(() => onEngine(cluster, 0, "raft"), "a Raft leader in epoch 0");
  } catch (error) {
    await cluster.close();
    throw error;
  }
  const leaderId = cluster.replicas[0]!.stats().leaderId!;
  return { cluster, leaderId, leader: engines.get(`${leaderId}/0`)! };
}

async function forceFrom(replicas: (AdaptiveConsensus<number> | undefined)[], mode: "internet" | "datacenter") {
  for (const replica of replicas) {
    for (let attempt = 0;; attempt++) {
      try {
        await replica!.force(mode, `test wants ${mode}`, { timeoutMs: 2_000 });
        break;
      } catch (error) {
        if (attempt > 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }
}

Deno.test({
  name:
    "adaptive: a forced switch to PBFT and back to Raft under writes; every acknowledged write applied once, everywhere",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const machines = Array.from({ length: 4 }, () => new Appends());
    const cluster = await startAdaptiveCluster(machines);
    try {
      await until(() => onEngine(cluster, 0, "raft"), "a Raft leader in epoch 0");
      const acknowledged: string[] = [];
      let stop = false;
      const failures: unknown[] = [];
      const writers = Array.from({ length: 4 }, async (_, writer) => {
        try {
          for (let sequence = 1; !stop; sequence++) {
            const text = `w${writer}-${sequence}`;
            await write(cluster, text, `writer-${writer}`, sequence);
            acknowledged.push(text);
          }
        } catch (error) {
          failures.push(error);
        }
      });
      const progress = (count: number) => () => {
        if (failures.length > 0) throw failures[0];
        return acknowledged.length >= count;
      };
      await until(progress(20), "20 writes on Raft");
      await forceFrom(cluster.replicas.slice(0, 2), "internet");
      await until(() => onEngine(cluster, 1, "pbft"), "every replica on PBFT in epoch 1");
      const onPbft = acknowledged.length;
      await until(progress(onPbft + 20), "20 writes on PBFT");
      await forceFrom(cluster.replicas.slice(1, 3), "datacenter");
      await until(() => onEngine(cluster, 2, "raft"), "every replica back on Raft in epoch 2");
      const onRaft = acknowledged.length;
      await until(progress(onRaft + 20), "20 writes on Raft again");
      stop = true;
      await Promise.all(writers);
      assert.deepEqual(failures, []);

      await until(
        () => machines.every((machine) => machine.items.length === machines[0].items.length),
        "replicas agree",
      );
      for (const machine of machines) assert.deepEqual(machine.items, machines[0].items);
      const applied = machines[0].items;
      assert.equal(new Set(applied).size, applied.length, "nothing applied twice");
      for (const text of acknowledged) assert.ok(applied.includes(text), `${text} was acknowledged but not applied`);
      const stats = cluster.replicas[0]!.adaptiveStats();
      assert.deepEqual(stats.switches.map((record) => [record.from, record.to]), [["raft", "pbft"], ["pbft", "raft"]]);
      assert.equal(stats.agreed.mode, "datacenter");
      assert.ok(
        stats.switches.every((record) => record.firstCommitAtMs !== undefined || record.startedAtMs !== undefined),
      );
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name: "adaptive: with 3 members PBFT cannot run; the cluster agrees on internet and stays on Raft, and says why",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const machines = Array.from({ length: 3 }, () => new Appends());
    const wan = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };
    const cluster = await startAdaptiveCluster(machines, { measure: () => wan });
    try {
      await until(() => cluster.replicas.every((replica) => replica!.agreed.mode === "internet"), "internet agreed");
      for (const replica of cluster.replicas) {
        const stats = replica!.adaptiveStats();
        assert.equal(stats.engine, "raft");
        assert.equal(stats.epoch, 0, "no switch: the engine that serves internet here is Raft");
        assert.equal(stats.pbft.available, false);
        assert.match(stats.pbft.reason!, /at least 4 replicas/);
        assert.equal(replica!.engineFor("internet"), "raft");
      }
      await write(cluster, "still writable", "writer", 1);
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name:
    "adaptive: a force the leader drops (relayed by a follower, or its own) is proposed again until it is in the tally",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { cluster, leaderId, leader } = await clusterWithRaftLeader();
    try {
      // The leader loses the next force it is handed, as one that lost its place before proposing it would.
      let toDrop = 1;
      const propose = leader.propose.bind(leader);
      leader.propose = (bytes, options) => {
        if (toDrop > 0 && decodeEntry(bytes).kind === "force") {
          toDrop--;
          return Promise.reject(new ConsensusError("PROPOSAL_DROPPED", "index 7 went to another leader"));
        }
        return propose(bytes, options);
      };
      const follower = cluster.replicas.find((replica) => replica!.stats().role !== "leader")!;
      const followerId = follower.stats().nodeId;
      assert.equal(await follower.force("hybrid", "relayed, dropped, sent again", { timeoutMs: 5_000 }), "committed");
      assert.equal(follower.adaptiveStats().tally.forces[followerId], "hybrid");
      assert.equal(toDrop, 0);
      toDrop = 1;
      const own = cluster.replicas[cluster.ids.indexOf(leaderId)]!;
      assert.equal(await own.force("hybrid", "dropped, proposed again", { timeoutMs: 5_000 }), "committed");
      assert.equal(own.adaptiveStats().tally.forces[leaderId], "hybrid");
      assert.equal(toDrop, 0);
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name:
    "adaptive: a member configured to decide otherwise (other thresholds) is cut off, not deciding apart; the others go on",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const machines = Array.from({ length: 4 }, () => new Appends());
    const cluster = await startAdaptiveCluster(machines, {
      adaptiveFor: (id) =>
        id === "n4" ? { thresholds: { ...resolveConfig(), internetLatencyThresholdMs: 5 } } : undefined,
    });
    try {
      const [n1, n2, n3, n4] = cluster.replicas;
      await until(() => [n1, n2, n3].some((replica) => replica!.stats().role === "leader"), "a leader among n1-n3");
      for (let sequence = 1; sequence <= 5; sequence++) await write(cluster, `w-${sequence}`, "writer", sequence);
      await until(() => machines.slice(0, 3).every((machine) => machine.items.length === 5), "n1-n3 to apply");
      // n4 hears nobody it can authenticate: no leader, nothing applied.
      assert.equal(n4!.stats().leaderId, null);
      assert.deepEqual(machines[3].items, []);
      await assert.rejects(n4!.propose(encoder.encode("from n4"), { timeoutMs: 300 }));
      assert.deepEqual(machines.slice(0, 3).map((machine) => machine.items.length), [5, 5, 5]);
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name: "adaptive: once a sealed epoch's engine has closed, each replica lets its log go (never the running epoch's)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const told = new Map<string, number[]>();
    const cluster = await startAdaptiveCluster(Array.from({ length: 4 }, () => new Appends()), {
      adaptiveFor: (id) => ({
        discardEpochsBefore: (epoch: number) => {
          told.set(id, [...told.get(id) ?? [], epoch]);
          return Promise.resolve();
        },
      }),
    });
    try {
      await until(() => onEngine(cluster, 0, "raft"), "a Raft leader in epoch 0");
      assert.ok(cluster.ids.every((id) => told.get(id)?.every((epoch) => epoch === 0)), "at start: nothing below 0");
      await forceFrom(cluster.replicas.slice(0, 2), "internet");
      await until(() => onEngine(cluster, 1, "pbft"), "every replica on PBFT in epoch 1");
      // Epoch 0's engines close once every peer runs epoch 1 (or after graceMs): then its log may go.
      await until(() => cluster.ids.every((id) => told.get(id)?.includes(1)), "every replica told epoch 0 is over");
      for (const id of cluster.ids) assert.ok(told.get(id)!.every((epoch) => epoch <= 1), JSON.stringify([...told]));
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name:
    "adaptive: a member relaying entries as fast as it can gets at most its rate proposed (a burst, then twice its report pace plus 16 a second); the rest are dropped and counted",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { cluster, leaderId, leader } = await clusterWithRaftLeader();
    try {
      let proposedReports = 0;
      const propose = leader.propose.bind(leader);
      leader.propose = (bytes, options) => {
        if (decodeEntry(bytes).kind === "report") proposedReports++;
        return propose(bytes, options);
      };
      const follower = cluster.replicas.find((replica) => replica!.stats().role !== "leader")!;
      // A flood of reports from one follower, each relayed to the leader.
      for (let i = 0; i < 500; i++) await follower.report({ rttMs: 1 + i, bandwidthMbps: 10_000, lossRatio: 0 });
      const leaderReplica = cluster.replicas[cluster.ids.indexOf(leaderId)]!;
      await until(
        () => leaderReplica.adaptiveStats().service.rateLimited > 0,
        "the leader to drop relays over the rate",
      );
      // Whatever the timing, far fewer than 500: the burst and what the rate earned while the flood went on.
      assert.ok(proposedReports < 200, `${proposedReports} of 500 relayed reports proposed`);
      assert.ok(proposedReports >= 32, `${proposedReports}: the burst goes through`);
    } finally {
      await cluster.close();
    }
  },
});

Deno.test({
  name:
    "adaptive: an epoch engine that fails to start at a switch is made again after a backoff, and the replica joins the epoch",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let failuresLeft = 2;
    const cluster = await startAdaptiveCluster(Array.from({ length: 4 }, () => new Appends()), {
      onEngine: (id, epoch, engine) => {
        if (id !== "n2" || epoch !== 1) return;
        const start = engine.start.bind(engine);
        engine.start = () => failuresLeft-- > 0 ? Promise.reject(new Error("disk full")) : start();
      },
    });
    try {
      await until(() => onEngine(cluster, 0, "raft"), "a Raft leader in epoch 0");
      await forceFrom(cluster.replicas.slice(0, 2), "internet");
      // Without a second attempt n2 stayed on an epoch whose engine never ran.
      await until(() => onEngine(cluster, 1, "pbft"), "every replica on PBFT in epoch 1, n2 too");
      const n2 = cluster.replicas[1]!.adaptiveStats();
      assert.equal(n2.lastStartFailure?.epoch, 1);
      assert.equal(n2.lastStartFailure?.error, "disk full");
      assert.equal(n2.lastStartFailure?.attempts, 2);
      assert.equal(n2.lastStartFailure?.retryAtMs, undefined, "it runs now");
      assert.equal(n2.switches.filter((record) => record.toEpoch === 1).length, 1, "one switch on record");
      await write(cluster, "after", "writer-after", 1);
    } finally {
      await cluster.close();
    }
  },
});
