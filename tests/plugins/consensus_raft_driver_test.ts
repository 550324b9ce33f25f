import assert from "node:assert/strict";
import { ManualClock } from "../../core/util/clock.ts";
import { silentLogger } from "../../core/util/logger.ts";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { validateStandard } from "../../core/util/standard_schema.ts";
import consensusRaft, {
  DEFAULT_RAFT_CONFIG,
  initialState,
  MemoryStorage,
  Raft,
  RaftConsensus,
} from "../../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { RecordingMachine } from "../../testing/consensus.ts";
import { stepUntilSettled } from "../../testing/advance.ts";
import { startRaftCluster } from "../support/raft_cluster.ts";

const encoder = new TextEncoder();

type Cluster = Awaited<ReturnType<typeof startRaftCluster<number>>>;

function settle<T>(cluster: Cluster, promise: Promise<T>): Promise<T> {
  return stepUntilSettled(() => cluster.clock.advance(10), promise, 1000, "did not settle");
}

/** Runs `body` on a fresh cluster of `size` replicas (and its machines), closing it after. */
async function withRaftCluster(
  size: number,
  body: (cluster: Cluster, leader: Cluster["replicas"][number], machines: RecordingMachine[]) => Promise<void>,
  options: Parameters<typeof startRaftCluster>[1] = {},
): Promise<void> {
  const machines = Array.from({ length: size }, () => new RecordingMachine());
  const cluster = await startRaftCluster(machines, options);
  try {
    await body(cluster, await leaderOf(cluster), machines);
  } finally {
    await cluster.close();
  }
}

async function leaderOf(cluster: Cluster) {
  for (let step = 0; step < 500; step++) {
    const leader = cluster.replicas.find((replica) => replica.stats().role === "leader");
    if (leader) return leader;
    await cluster.clock.advance(10);
  }
  throw new Error("no leader");
}

Deno.test("raft driver: a joining node is added, catches up, and can be removed again", () =>
  withRaftCluster(4, async (cluster, leader, machines) => {
    for (let i = 0; i < 12; i++) await settle(cluster, leader.propose(encoder.encode(`before-${i}`)));
    const joiner = cluster.replicas[3];
    assert.deepEqual(joiner.stats().members, [], "the joiner starts outside the membership");
    await settle(cluster, leader.addMember("n4", "raft-n4"));
    await settle(cluster, leader.propose(encoder.encode("after")));
    for (let i = 0; i < 50 && machines[3].commands.at(-1) !== "after"; i++) await cluster.clock.advance(10);
    assert.deepEqual(machines[3].commands, machines[0].commands, "the joiner caught up (from a snapshot)");
    assert.deepEqual(joiner.stats().members, ["n1", "n2", "n3", "n4"]);
    assert.ok(joiner.stats().snapshotIndex > 0);

    await assert.rejects(
      settle(cluster, leader.addMember("n4", "raft-n4")),
      (error) => error instanceof ConsensusError && error.code === "INVALID_ARGUMENT",
    );
    await settle(cluster, leader.removeMember("n4"));
    assert.deepEqual(leader.stats().members, ["n1", "n2", "n3"]);
  }, { joiners: 1, snapshotEveryEntries: 5 }));

Deno.test("raft driver: a leader that removes itself hands over to the others, who still hear it until the change commits", () =>
  withRaftCluster(3, async (cluster, leader) => {
    const leaderId = leader.stats().nodeId;
    await settle(cluster, leader.propose(encoder.encode("before")));
    await settle(cluster, leader.removeMember(leaderId));
    const others = cluster.replicas.filter((replica) => replica !== leader);
    for (let i = 0; i < 100 && !others.some((replica) => replica.stats().role === "leader"); i++) {
      await cluster.clock.advance(10);
    }
    const next = others.find((replica) => replica.stats().role === "leader");
    assert.ok(next, "one of the remaining members leads");
    await settle(cluster, next.propose(encoder.encode("after")));
    for (const replica of others) assert.deepEqual(replica.stats().members, others.map((o) => o.stats().nodeId));
    assert.equal(leader.stats().role, "follower");
    assert.equal(others.reduce((sum, replica) => sum + replica.stats().peerRejections["unknown-sender"], 0), 0);
  }));

Deno.test("raft driver: closing a node closes the connections it accepted, as a stopped process's are", () =>
  withRaftCluster(3, async (cluster, leader) => {
    const follower = cluster.replicas.find((replica) => replica !== leader)!;
    const connection = await cluster.network.transport("outsider").dial(`raft-${follower.stats().nodeId}`);
    let closed = false;
    connection.closed.then(() => closed = true);
    await cluster.clock.advance(10); // accepted and being read
    assert.equal(closed, false);
    await follower.close();
    for (let i = 0; i < 10 && !closed; i++) await cluster.clock.advance(10);
    assert.ok(closed, "the accepted connection is still open");
  }));

Deno.test("raft driver: leadership moves to the named node", () =>
  withRaftCluster(3, async (cluster, leader) => {
    const target = cluster.replicas.find((replica) => replica !== leader)!;
    const targetId = target.stats().nodeId;
    await settle(cluster, leader.transferLeadership(targetId));
    assert.equal(target.stats().role, "leader");
    assert.equal(leader.stats().leaderId, targetId);
    await assert.rejects(
      settle(cluster, leader.propose(encoder.encode("x"))),
      (error) => error instanceof ConsensusError && error.code === "NOT_LEADER" && error.leaderHint === targetId,
    );
    await settle(cluster, target.propose(encoder.encode("x")));
  }));

Deno.test("raft driver: a proposal without a quorum times out with an unknown outcome", () =>
  withRaftCluster(3, async (cluster, leader) => {
    for (const replica of cluster.replicas) if (replica !== leader) await replica.close();
    await assert.rejects(
      settle(cluster, leader.propose(encoder.encode("x"), { timeoutMs: 300 })),
      (error) => error instanceof ConsensusError && error.code === "CONSENSUS_TIMEOUT",
    );
  }));

Deno.test("raft driver: bad options are refused, naming the field", async () => {
  const network = new MemoryNetwork({ clock: new ManualClock(), seed: 1 });
  const base = {
    transport: network.transport("x"),
    storage: new MemoryStorage(),
    stateMachine: new RecordingMachine(),
    clock: new ManualClock(),
    peerAuth: "none" as const,
  };
  assert.throws(
    () => new RaftConsensus({ ...base, id: "n9", peers: { n1: "raft-n1" } }),
    (error) => error instanceof ConsensusError && error.code === "INVALID_ARGUMENT" && /peers\.n9/.test(error.message),
  );
  assert.throws(
    () => new Raft({ ...DEFAULT_RAFT_CONFIG, id: "a", random: Math.random, electionTicks: 1 }, initialState(["a"])),
    /electionTicks must be greater than heartbeatTicks/,
  );
  const result = await validateStandard(consensusRaft.options!, { peers: { n1: "a" }, tickMs: 0 }, "options");
  assert.equal(result.ok, false);
  const paths = !result.ok ? result.issues.map((issue) => issue.path) : [];
  assert.ok(paths.includes("options.nodeId") && paths.includes("options.tickMs"), JSON.stringify(paths));
});

Deno.test("raft driver: a first leader sends nothing of its first term before that term's entries are on disk", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 3 });
  const peers = { n1: "first-n1", n2: "first-n2", n3: "first-n3" };
  // n2 and n3 are raw listeners that count what arrives.
  let framesSeen = 0;
  const listeners = await Promise.all(
    ["first-n2", "first-n3"].map((address) => network.transport(address).listen(address)),
  );
  for (const listener of listeners) {
    (async () => {
      for await (const connection of listener.connections()) {
        (async () => {
          for await (const _ of connection.frames()) framesSeen++;
        })().catch(() => {});
      }
    })().catch(() => {});
  }
  const disk = new MemoryStorage();
  let saves = 0;
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  const node = new RaftConsensus({
    id: "n1",
    peers,
    firstLeader: "n1",
    transport: network.transport("first-n1"),
    peerAuth: "none",
    storage: {
      load: () => disk.load(),
      // The first save is the initial state; the second, the first term's no-op: held until released.
      save: async (update) => {
        if (++saves === 2) await held;
        await disk.save(update);
      },
      compact: (snapshot) => disk.compact(snapshot),
      close: () => disk.close(),
    },
    stateMachine: new RecordingMachine(),
    clock,
    logger: silentLogger,
  });
  await node.start();
  for (let i = 0; i < 5; i++) await clock.advance(1);
  assert.equal(node.stats().role, "leader", "term 1 without an election");
  assert.equal(node.stats().term, 1);
  assert.equal(saves, 2, "the first term's entries are being written");
  assert.equal(framesSeen, 0, "nothing of the first term left before its write finished");
  release();
  for (let i = 0; i < 5; i++) await clock.advance(1);
  assert.ok(framesSeen > 0, "then the appends go out");
  await node.close();
  for (const listener of listeners) await listener.close();
});

Deno.test("raft driver: a node whose storage fails a write stops itself instead of running ahead of its disk", async () => {
  class FailingStorage extends MemoryStorage {
    failing = false;
    override save(update: Parameters<MemoryStorage["save"]>[0]): Promise<void> {
      return this.failing ? Promise.reject(new Error("disk full")) : super.save(update);
    }
  }
  const storages: FailingStorage[] = [];
  await withRaftCluster(3, async (cluster, leader) => {
    await settle(cluster, leader.propose(new TextEncoder().encode("before")));
    storages[cluster.replicas.indexOf(leader)].failing = true;
    const proposal = leader.propose(new TextEncoder().encode("after")).catch((error) => error);
    const error = await settle(cluster, proposal);
    assert.equal((error as ConsensusError).code, "CONSENSUS_CLOSED");
    assert.match((error as Error).message, /stopped itself: disk full/);
    assert.equal(leader.stats().healthy, false);
    await assert.rejects(leader.propose(new TextEncoder().encode("later")), /stopped itself: disk full/);
  }, {
    storage: () => {
      const storage = new FailingStorage();
      storages.push(storage);
      return storage;
    },
  });
});
