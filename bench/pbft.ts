/**
 * PBFT benchmark. Two parts, each beside a baseline from the same run:
 *
 * - the key-value example as processes (TCP on loopback, file logs synced
 *   before anything leaves): the 4-replica PBFT cluster with batching on and
 *   off and the 7-replica one (f = 2), beside the 3-node Raft cluster, loaded
 *   over HTTP by the same closed-loop clients, sent to the leader (Raft) or
 *   the primary (PBFT), and for PBFT also spread over every replica (which
 *   all take writes);
 * - the engine alone: 4 PBFT replicas in one process over the memory
 *   transport with in-memory logs, proposals at every replica, beside 3 Raft
 *   replicas set up the same way.
 *
 * @module
 */
import { SystemClock } from "../core/util/clock.ts";
import type { Consensus, ConsensusStateMachine } from "../core/contracts/consensus.ts";
import { launchKvCluster } from "../examples/kv/cluster.ts";
import { MemoryPbftStorage, PbftConsensus, replicaKeys } from "../plugins/consensus-pbft/mod.ts";
import { MemoryStorage, RaftConsensus } from "../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../plugins/transport-memory/mod.ts";
import { testIdentities, testReplicaSecret } from "../tests/support/pbft_consensus_cluster.ts";
import { testPeerKeys } from "../tests/support/raft_cluster.ts";
import { closedLoop, type LoadResult } from "./load.ts";
import { fmt, markdownTable } from "./table.ts";

const CLIENT_COUNTS = [16, 64, 256];
const DURATION_MS = 3000;
const ENGINE_PROPOSERS = [64, 256, 1024];

interface Variant {
  name: string;
  engine: "raft" | "pbft";
  size: number;
  args?: string[];
  /** Spread the clients over every replica instead of sending them to the leader (primary). */
  spread?: boolean;
}

const VARIANTS: Variant[] = [
  { name: "Raft, 3 nodes", engine: "raft", size: 3 },
  { name: "PBFT, 4 replicas (f = 1), batching", engine: "pbft", size: 4 },
  { name: "PBFT, 4 replicas, batching, clients at every replica", engine: "pbft", size: 4, spread: true },
  {
    name: "PBFT, 4 replicas, no batching",
    engine: "pbft",
    size: 4,
    args: ["--batch-requests", "1", "--operations-per-request", "1"],
  },
  { name: "PBFT, 7 replicas (f = 2), batching", engine: "pbft", size: 7 },
];

async function loadKv(variant: Variant, clients: number): Promise<LoadResult> {
  const cluster = await launchKvCluster({
    engine: variant.engine,
    size: variant.size,
    extraArgs: () => variant.args ?? [],
  });
  try {
    const leader = await cluster.leader(20_000);
    const urls = variant.spread ? cluster.urls : [leader.httpUrl];
    return await closedLoop(clients, DURATION_MS, async (client, sequence) => {
      const response = await fetch(`${urls[client % urls.length]}/kv/key-${client}`, {
        method: "PUT",
        body: `value-${sequence}`,
      });
      await response.arrayBuffer();
      return response.ok;
    });
  } finally {
    await cluster.stop();
  }
}

const counter = (): ConsensusStateMachine<number> => {
  let count = 0;
  return { apply: () => ++count, snapshot: () => new Uint8Array(8), restore() {} };
};

async function engineReplicas(engine: "raft" | "pbft"): Promise<Consensus<number>[]> {
  const clock = new SystemClock();
  const network = new MemoryNetwork({ clock, seed: 1 });
  const ids = engine === "pbft" ? ["n1", "n2", "n3", "n4"] : ["n1", "n2", "n3"];
  const peers = Object.fromEntries(ids.map((id) => [id, `${engine}-${id}`]));
  if (engine === "raft") {
    return ids.map((id) =>
      new RaftConsensus({
        id,
        peers,
        transport: network.transport(peers[id]),
        peerAuth: { keys: testPeerKeys },
        storage: new MemoryStorage(),
        stateMachine: counter(),
        clock,
      })
    );
  }
  const identities = await testIdentities(ids);
  return Promise.all(ids.map(async (id) => {
    const keys = await replicaKeys(id, testReplicaSecret(id), identities);
    return new PbftConsensus({
      id,
      peers,
      transport: network.transport(peers[id]),
      storage: new MemoryPbftStorage(),
      stateMachine: counter(),
      clock,
      signer: keys.signer,
      verifier: keys.verifier,
      channelKeys: keys.channel,
      pbft: { maxBatchRequests: 1024 },
    });
  }));
}

async function loadEngine(engine: "raft" | "pbft", proposers: number): Promise<LoadResult> {
  const replicas = await engineReplicas(engine);
  for (const replica of replicas) await replica.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 600)); // elections, and the channel's start-up window
    const leader = replicas.find((replica) => replica.stats().role === "leader") ?? replicas[0];
    const command = new Uint8Array(64);
    return await closedLoop(proposers, DURATION_MS, async (proposer) => {
      const replica = engine === "raft" ? leader : replicas[proposer % replicas.length];
      await replica.propose(command);
      return true;
    });
  } finally {
    for (const replica of replicas) await replica.close();
  }
}

/** Runs the section. */
export async function benchPbft(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const results: Record<string, unknown> = {};
  const kvRows: (string | number)[][] = [["cluster", "clients", "writes/s", "p50 ms", "p99 ms", "vs Raft"]];
  for (const clients of CLIENT_COUNTS) {
    let raft: LoadResult | undefined;
    for (const variant of VARIANTS) {
      console.error(`  ${variant.name}, ${clients} clients`);
      const result = await loadKv(variant, clients);
      raft ??= result;
      results[`${variant.name}, ${clients} clients`] = result;
      kvRows.push([
        variant.name,
        clients,
        fmt(result.opsPerSecond),
        fmt(result.p50Ms),
        fmt(result.p99Ms),
        `${fmt(result.opsPerSecond / raft.opsPerSecond)}x`,
      ]);
    }
  }
  const engineRows: (string | number)[][] = [[
    "proposers",
    "PBFT commits/s",
    "p50 ms",
    "p99 ms",
    "Raft commits/s",
    "ratio",
  ]];
  for (const proposers of ENGINE_PROPOSERS) {
    console.error(`  engine alone, ${proposers} proposers`);
    const pbft = await loadEngine("pbft", proposers);
    const raft = await loadEngine("raft", proposers);
    results[`engine, ${proposers} proposers`] = { pbft, raft };
    engineRows.push([
      proposers,
      fmt(pbft.opsPerSecond),
      fmt(pbft.p50Ms),
      fmt(pbft.p99Ms),
      fmt(raft.opsPerSecond),
      `${fmt(pbft.opsPerSecond / raft.opsPerSecond)}x`,
    ]);
  }
  const note = "Key-value clusters: processes on loopback, every log synced before anything it covers leaves, " +
    `HTTP PUTs by closed-loop clients, ${DURATION_MS / 1000} s per run after a 0.5 s warm-up. ` +
    "Engine alone: replicas in one process over the memory transport, in-memory logs, 64-byte commands.";
  return {
    markdown: `${markdownTable(kvRows)}\n\n${markdownTable(engineRows)}\n\n${note}`,
    results,
  };
}
