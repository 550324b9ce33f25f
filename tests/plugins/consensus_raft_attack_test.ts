// Attacks on the peer port of a running 3-node Raft cluster (real drivers on
// the memory transport, one ManualClock): forged, malformed, misaddressed and
// replayed frames. Each must leave every node's term, durable log, hard state
// and leadership as they were, and be counted under its reason.
import assert from "node:assert/strict";
import type { Transport } from "../../core/contracts/transport.ts";
import { encodeMessages } from "../../plugins/consensus-raft/codec.ts";
import type { PeerRejectionReason, RaftConsensus } from "../../plugins/consensus-raft/mod.ts";
import type { Entry, Message } from "../../plugins/consensus-raft/types.ts";
import { clusterKeys, parseClusterKey, PeerAuthenticator } from "../../plugins/peer-auth/mod.ts";
import { parseSealed } from "../../plugins/peer-auth/sealed_frame.ts";
import { RecordingMachine } from "../../testing/consensus.ts";
import { stepUntil, stepUntilSettled } from "../../testing/advance.ts";
import { startRaftCluster, testPeerKeys } from "../support/raft_cluster.ts";
import { wrapConnection, wrapTransport } from "../support/wrapped_transport.ts";

const encoder = new TextEncoder();
const otherKeys = clusterKeys(parseClusterKey("a5".repeat(32), "otherKey"));

type Cluster = Awaited<ReturnType<typeof startRaftCluster<number>>>;
interface Sent {
  from: string;
  frame: Uint8Array;
}

/** Records every frame `id` sends (after sealing: what goes on the wire). */
function tapped(id: string, inner: Transport, sent: Sent[]): Transport {
  return wrapTransport(inner, {
    dialed: (connection) =>
      wrapConnection(connection, {
        send: (frame) => {
          sent.push({ from: id, frame: frame.slice() });
          return connection.send(frame);
        },
      }),
  });
}

/** Genuine frames `from` sealed for `to`, oldest first. */
function captured(sent: Sent[], from: string, to: string): Uint8Array[] {
  return sent.filter((entry) => {
    const parsed = parseSealed(entry.frame);
    return entry.from === from && typeof parsed !== "string" && parsed.header.to === to;
  }).map((entry) => entry.frame);
}

const node = (cluster: Cluster, id: string) => cluster.replicas.find((replica) => replica.stats().nodeId === id)!;
async function steps(cluster: Cluster, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await cluster.clock.advance(10);
}

async function until(cluster: Cluster, what: string, done: () => boolean, maxSteps = 300): Promise<void> {
  await stepUntil(() => cluster.clock.advance(10), done, maxSteps, `waited for ${what}`);
}

/** A cluster with a leader, two committed commands applied everywhere, every node healthy. */
async function stableCluster(options: Parameters<typeof startRaftCluster<number>>[1] = {}) {
  const sent: Sent[] = [];
  const cluster = await startRaftCluster([new RecordingMachine(), new RecordingMachine(), new RecordingMachine()], {
    transport: (id, inner) => tapped(id, inner, sent),
    ...options,
  });
  await until(cluster, "a leader", () => cluster.replicas.some((replica) => replica.stats().role === "leader"));
  const leader = cluster.replicas.find((replica) => replica.stats().role === "leader")!;
  for (const text of ["a", "b"]) {
    await stepUntilSettled(() => cluster.clock.advance(10), leader.propose(encoder.encode(text)), 300, "propose");
  }
  await until(
    cluster,
    "replication and health",
    () =>
      cluster.replicas.every((replica) => replica.stats().appliedIndex === leader.stats().commitIndex) &&
      cluster.replicas.every((replica) => replica.stats().healthy),
  );
  const ids = cluster.replicas.map((replica) => replica.stats().nodeId);
  const leaderId = leader.stats().nodeId;
  const [victim, other] = ids.filter((id) => id !== leaderId);
  return { cluster, sent, leaderId, victim, other };
}

/** What an attack must not change: per node, role, term, leader, indices, and the durable hard state and log. */
async function state(cluster: Cluster) {
  return await Promise.all(cluster.replicas.map(async (replica, i) => {
    const stats = replica.stats();
    const durable = await cluster.storages[i].load();
    return {
      node: stats.nodeId,
      role: stats.role,
      term: stats.term,
      leader: stats.leaderId,
      commit: stats.commitIndex,
      applied: stats.appliedIndex,
      hardState: durable?.hardState,
      log: durable?.entries.map((entry) => `${entry.index}:${entry.term}:${entry.kind}`),
    };
  }));
}

/** Sends each frame to `target` over a fresh connection from an outsider, then lets 300 ms pass (past any election timeout). */
async function inject(cluster: Cluster, target: string, frames: Uint8Array[]): Promise<void> {
  for (const frame of frames) {
    const connection = await cluster.network.transport("attacker").dial(`raft-${target}`);
    await connection.send(frame).catch(() => {});
  }
  await steps(cluster, 30);
}

/** Runs an attack on `target` and checks that nothing changed and that `reason` counted `count` more. */
async function expectRefused(
  cluster: Cluster,
  target: string,
  frames: Uint8Array[],
  reason: PeerRejectionReason,
  count = frames.length,
): Promise<void> {
  const before = await state(cluster);
  const counted = node(cluster, target).stats().peerRejections[reason];
  await inject(cluster, target, frames);
  assert.deepEqual(await state(cluster), before, `${reason}: the cluster changed`);
  assert.equal(node(cluster, target).stats().peerRejections[reason], counted + count, `${reason} not counted`);
  assert.ok(cluster.replicas.every((replica) => replica.stats().healthy), `${reason}: a node became unhealthy`);
}

/** An outsider's authenticator (on the cluster clock, past the receivers' start-up window). */
function sealer(cluster: Cluster, self: string, keys = testPeerKeys): PeerAuthenticator {
  return new PeerAuthenticator({ self, keys, clock: cluster.clock });
}

function heartbeat(from: string, to: string, term: number): Message {
  return { type: "heartbeat", from, to, term, commit: 1_000, readSeq: 0 };
}

function forgedAppend(from: string, to: string, replica: RaftConsensus<number>): Extract<Message, { type: "append" }> {
  const { term, commitIndex } = replica.stats();
  const entry: Entry = { index: commitIndex + 1, term: term + 1, kind: "command", data: encoder.encode("forged") };
  return {
    type: "append",
    from,
    to,
    term: term + 1,
    prevIndex: commitIndex,
    prevTerm: term,
    commit: commitIndex + 1,
    entries: [entry],
  };
}

Deno.test("raft attack: a heartbeat or an append from an unknown node, sealed or not, changes nothing", async () => {
  const { cluster, victim, leaderId } = await stableCluster();
  try {
    const evil = sealer(cluster, "evil");
    for (const target of [victim, leaderId]) {
      const term = node(cluster, target).stats().term;
      const raw = encodeMessages([heartbeat("evil", target, term + 1000)]);
      await expectRefused(cluster, target, [raw], "malformed");
      await expectRefused(cluster, target, [await evil.seal(target, raw)], "unknown-sender");
      const append = encodeMessages([forgedAppend("evil", target, node(cluster, target))]);
      await expectRefused(cluster, target, [append], "malformed");
      await expectRefused(cluster, target, [await evil.seal(target, append)], "unknown-sender");
    }
    assert.equal(node(cluster, victim).stats().peerRejections["unknown-sender"], 2);
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: a member's frame carrying another sender's messages, or messages for another node, changes nothing", async () => {
  const { cluster, victim, other, leaderId } = await stableCluster();
  try {
    // A holder of the key sealing as the other follower (which never talks to the victim between elections).
    const insider = sealer(cluster, other);
    const term = node(cluster, victim).stats().term;
    const asLeader = encodeMessages([heartbeat(leaderId, victim, term + 1000)]);
    await expectRefused(cluster, victim, [await insider.seal(victim, asLeader)], "sender-mismatch");
    const fromEvil = encodeMessages([forgedAppend("evil", victim, node(cluster, victim))]);
    await expectRefused(cluster, victim, [await insider.seal(victim, fromEvil)], "sender-mismatch");
    const forLeader = encodeMessages([heartbeat(other, leaderId, term + 1000)]);
    await expectRefused(cluster, victim, [await insider.seal(victim, forLeader)], "wrong-recipient");
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: non-finite, negative, unsafe and oversized fields are refused by the codec", async () => {
  const { cluster, victim, other } = await stableCluster();
  try {
    const insider = sealer(cluster, other);
    const frames: Uint8Array[] = [];
    for (const term of [Infinity, NaN, -1, 2 ** 53, 1.5]) {
      frames.push(encodeMessages([heartbeat(other, victim, term)]));
      frames.push(encodeMessages([{ ...forgedAppend(other, victim, node(cluster, victim)), commit: term }]));
    }
    const huge = encodeMessages([forgedAppend(other, victim, node(cluster, victim))]);
    new DataView(huge.buffer).setUint32(1, 0xffff_ffff); // the message count
    frames.push(huge);
    await expectRefused(
      cluster,
      victim,
      await Promise.all(frames.map((f) => insider.seal(victim, f))),
      "invalid-message",
    );
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: a well-formed frame under the wrong key is refused", async () => {
  const { cluster, victim, leaderId } = await stableCluster();
  try {
    const impostor = sealer(cluster, leaderId, otherKeys);
    const term = node(cluster, victim).stats().term;
    const frame = await impostor.seal(victim, encodeMessages([heartbeat(leaderId, victim, term + 1000)]));
    await expectRefused(cluster, victim, [frame], "bad-mac");
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: genuine frames captured off the wire are refused when replayed, or when delivered to another node", async () => {
  const { cluster, sent, victim, other, leaderId } = await stableCluster();
  try {
    await steps(cluster, 10);
    const toVictim = captured(sent, leaderId, victim).slice(-10); // sealed after the victim's start-up window
    assert.equal(toVictim.length, 10);
    await expectRefused(cluster, victim, toVictim, "replayed");
    const toOther = captured(sent, leaderId, other).slice(-5);
    await expectRefused(cluster, victim, toOther, "wrong-recipient");
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: frames captured before a node restarted are refused by its next run, which rejoins", async () => {
  const { cluster, sent, victim, leaderId } = await stableCluster();
  try {
    await steps(cluster, 10);
    const old = captured(sent, leaderId, victim).slice(-10);
    const index = cluster.replicas.indexOf(node(cluster, victim));
    const restarted = await cluster.restart(index, new RecordingMachine());
    await until(cluster, "the restarted node to rejoin", () => restarted.stats().healthy);
    assert.ok(restarted.stats().peerRejections["sent-before-start"] > 0, "it refused its peers for a while");
    await expectRefused(cluster, victim, old, "sent-before-start");
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: frames of a sender's previous run are refused once its new run is heard", async () => {
  const { cluster, sent, victim, leaderId } = await stableCluster();
  try {
    await steps(cluster, 10);
    const old = captured(sent, leaderId, victim).slice(-10);
    const index = cluster.replicas.indexOf(node(cluster, leaderId));
    const restarted = await cluster.restart(index, new RecordingMachine());
    // Hand leadership back to the restarted node once it hears the cluster, so the victim hears its new run.
    for (let attempt = 0; restarted.stats().role !== "leader"; attempt++) {
      assert.ok(attempt < 10, "leadership did not come back to the restarted node");
      await until(cluster, "a leader the restarted node follows", () => restarted.stats().healthy);
      const current = cluster.replicas.find((replica) => replica.stats().role === "leader")!;
      const transfer = current.transferLeadership(leaderId, { timeoutMs: 500 }).catch(() => {});
      await stepUntilSettled(() => cluster.clock.advance(10), transfer, 100, "transfer");
    }
    await until(
      cluster,
      "the restarted leader to lead a healthy, settled cluster",
      () =>
        restarted.stats().role === "leader" &&
        cluster.replicas.every((replica) =>
          replica.stats().healthy && replica.stats().appliedIndex === restarted.stats().commitIndex
        ),
    );
    await expectRefused(cluster, victim, old, "stale-session");
  } finally {
    await cluster.close();
  }
});

Deno.test("raft attack: without authentication, membership, recipient and field checks still hold", async () => {
  const { cluster, victim, other } = await stableCluster({ peerAuth: () => "none" });
  try {
    assert.equal(node(cluster, victim).stats().peerAuth, false);
    const term = node(cluster, victim).stats().term;
    await expectRefused(cluster, victim, [encodeMessages([heartbeat("evil", victim, term + 1000)])], "unknown-sender");
    const forged = encodeMessages([forgedAppend("evil", victim, node(cluster, victim))]);
    await expectRefused(cluster, victim, [forged], "unknown-sender");
    await expectRefused(cluster, victim, [encodeMessages([heartbeat(other, "n9", term + 1000)])], "wrong-recipient");
    await expectRefused(cluster, victim, [encodeMessages([heartbeat(other, victim, Infinity)])], "invalid-message");
  } finally {
    await cluster.close();
  }
});

Deno.test("raft health: a node that cannot authenticate its peers is not healthy; the others are", async () => {
  const cluster = await startRaftCluster([new RecordingMachine(), new RecordingMachine(), new RecordingMachine()], {
    peerAuth: (id) => ({ keys: id === "n3" ? otherKeys : testPeerKeys }),
  });
  try {
    await until(cluster, "a leader", () => cluster.replicas.some((replica) => replica.stats().role === "leader"));
    await steps(cluster, 30);
    const [n1, n2, n3] = cluster.replicas.map((replica) => replica.stats());
    assert.equal(n3.healthy, false);
    assert.ok(n3.peerRejections["bad-mac"] > 0);
    assert.ok(n1.healthy && n2.healthy, JSON.stringify([n1, n2]));
  } finally {
    await cluster.close();
  }
});

Deno.test("raft health: a follower that rejects the leader's appends (its log conflicts) is not healthy", async () => {
  const { cluster, victim, leaderId } = await stableCluster();
  try {
    const index = cluster.replicas.indexOf(node(cluster, victim));
    await cluster.replicas[index].close();
    // Damage the last committed entry's term, as a forged append once could.
    const durable = (await cluster.storages[index].load())!;
    const at = durable.entries.findIndex((entry) => entry.index === durable.hardState.commit);
    const damaged = durable.entries.slice(at).map((entry, i) => i === 0 ? { ...entry, term: entry.term - 1 } : entry);
    await cluster.storages[index].save({ entries: damaged });
    const restarted = await cluster.restart(index, new RecordingMachine());
    await until(cluster, "the follower to hear the leader", () => restarted.stats().leaderId === leaderId);
    const leader = node(cluster, leaderId);
    await stepUntilSettled(() => cluster.clock.advance(10), leader.propose(encoder.encode("c")), 300, "propose");
    await steps(cluster, 30);
    assert.equal(restarted.stats().role, "follower");
    assert.equal(restarted.stats().leaderId, leaderId, "it still hears the leader's heartbeats");
    assert.equal(restarted.stats().healthy, false);
    assert.ok(cluster.replicas.filter((replica) => replica !== restarted).every((replica) => replica.stats().healthy));
  } finally {
    await cluster.close();
  }
});

Deno.test("raft health: a leader no quorum acknowledges is not healthy, even while it still leads", async () => {
  const { cluster, leaderId } = await stableCluster({ raft: { checkQuorum: false } });
  try {
    for (const replica of cluster.replicas) if (replica.stats().nodeId !== leaderId) await replica.close();
    await steps(cluster, 30);
    const stats = node(cluster, leaderId).stats();
    assert.equal(stats.role, "leader");
    assert.equal(stats.healthy, false);
  } finally {
    await cluster.close();
  }
});
