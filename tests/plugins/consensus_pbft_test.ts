/**
 * Directed tests of the PBFT state machine: the normal case, batching,
 * checkpoints and garbage collection, view changes, catching up, restarts,
 * read-only requests, and refusal of forged and equivocating messages.
 */
import assert from "node:assert/strict";
import { prePrepareSigningBytes } from "../../plugins/consensus-pbft/codec.ts";
import { batchDigest } from "../../plugins/consensus-pbft/codec.ts";
import { decodeMessages } from "../../plugins/consensus-pbft/codec.ts";
import type { DurableRecord, PrePrepare } from "../../plugins/consensus-pbft/types.ts";
import { DEFAULT_PBFT_CONFIG, Pbft } from "../../plugins/consensus-pbft/pbft.ts";
import { PbftTestCluster } from "../support/pbft_cluster.ts";
import { KvService, signRequest } from "../support/pbft_fakes.ts";

function client(cluster: PbftTestCluster, name: string) {
  const id = `key:${name}`;
  const signer = cluster.keys.signer(id);
  let sequence = 0;
  return {
    id,
    put(key: string, value: string, to?: string[]) {
      const request = signRequest(signer, id, ++sequence, [{ op: "put", key, value }]);
      cluster.submit(request, to);
      return request;
    },
    get(key: string, to?: string[]) {
      const request = signRequest(signer, id, ++sequence, [{ op: "get", key }], true);
      cluster.submit(request, to);
      return request;
    },
  };
}

/** The messages of a frame on its way. */
const bodies = (message: { frame: Uint8Array }) => decodeMessages(message.frame);

function executedEverywhere(cluster: PbftTestCluster, sequence: number, ids = cluster.members): boolean {
  return ids.every((id) => cluster.replica(id).machine.executed >= sequence);
}

Deno.test("pbft: a request commits on every replica and the client gets f + 1 matching replies", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  const request = alice.put("x", "1", ["r0"]);
  cluster.deliver();
  assert.ok(executedEverywhere(cluster, 1));
  for (const replica of cluster.replicas.values()) assert.equal(replica.service.values.get("x"), "1");
  assert.deepEqual(cluster.accepted(alice.id, request.sequence, 2), ['"1"']);
  assert.equal(cluster.replies.get(alice.id)!.length, 4, "every replica replies");
});

Deno.test("pbft: a request sent to a backup is forwarded to the primary", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  alice.put("x", "1", ["r2"]);
  cluster.deliver();
  assert.ok(executedEverywhere(cluster, 1));
});

Deno.test("pbft: requests waiting while batches are in flight go out together", () => {
  const cluster = new PbftTestCluster({ config: { maxInflightBatches: 1 } });
  const clients = Array.from({ length: 20 }, (_, i) => client(cluster, `c${i}`));
  for (const c of clients) c.put(`k-${c.id}`, "v", ["r0"]);
  cluster.deliver();
  const primary = cluster.replica("r0");
  assert.equal(primary.service.executedLog.length, 20);
  assert.ok(primary.machine.executed < 20, `20 requests in ${primary.machine.executed} batches`);
});

Deno.test("pbft: a repeated request executes once and is answered from the client table", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  const request = alice.put("x", "1");
  cluster.deliver();
  cluster.replies.clear();
  cluster.submit(request);
  cluster.deliver();
  for (const replica of cluster.replicas.values()) assert.deepEqual(replica.service.executedLog, [`${alice.id}:1`]);
  assert.deepEqual(cluster.accepted(alice.id, 1, 4), ['"1"']);
});

Deno.test("pbft: checkpoints become stable and the log below them is discarded", () => {
  const cluster = new PbftTestCluster({ config: { checkpointInterval: 4, windowSize: 8, maxInflightBatches: 1 } });
  const alice = client(cluster, "alice");
  for (let i = 0; i < 10; i++) {
    alice.put("x", String(i));
    cluster.deliver();
  }
  for (const replica of cluster.replicas.values()) {
    assert.equal(replica.machine.executed, 10);
    assert.equal(replica.machine.stable.sequence, 8);
    assert.equal(replica.machine.stable.proof.length, 3);
    assert.equal(replica.machine.committedAt(8), undefined, "sequence 8 discarded");
    assert.ok(replica.machine.committedAt(9));
  }
});

Deno.test("pbft: a silent primary is replaced by a view change and pending requests complete", () => {
  const cluster = new PbftTestCluster({ config: { requestTimeoutTicks: 20, viewChangeTimeoutTicks: 20 } });
  const alice = client(cluster, "alice");
  cluster.crash("r0");
  alice.put("x", "1");
  cluster.deliver();
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 1, ["r1", "r2", "r3"])));
  for (const id of ["r1", "r2", "r3"]) {
    assert.equal(cluster.replica(id).machine.view, 1);
    assert.equal(cluster.replica(id).machine.primary, "r1");
  }
  assert.deepEqual(cluster.accepted(alice.id, 1, 2), ['"1"']);
});

Deno.test("pbft: a request prepared in the old view keeps its sequence in the new view", () => {
  const cluster = new PbftTestCluster({ config: { requestTimeoutTicks: 20, viewChangeTimeoutTicks: 20 } });
  const alice = client(cluster, "alice");
  // Commits never arrive: every replica prepares sequence 1, none executes it.
  cluster.drop = (message) => decodeMessages(message.frame).some((body) => body.type === "commit");
  alice.put("x", "1");
  cluster.deliver();
  cluster.drop = () => false;
  cluster.crash("r0");
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 1, ["r1", "r2", "r3"])));
  for (const id of ["r1", "r2", "r3"]) {
    const committed = cluster.replica(id).machine.committedAt(1)!;
    assert.equal(committed.batch.length, 1, "the prepared batch, not an empty one");
    assert.deepEqual(cluster.replica(id).service.executedLog, [`${alice.id}:1`]);
  }
});

Deno.test("pbft: a replica that was down catches up from the others", () => {
  const cluster = new PbftTestCluster({ config: { checkpointInterval: 4, windowSize: 8, maxInflightBatches: 1 } });
  const alice = client(cluster, "alice");
  cluster.crash("r3");
  for (let i = 0; i < 12; i++) {
    alice.put("x", String(i));
    cluster.deliver();
  }
  cluster.restart("r3");
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 12)));
  const late = cluster.replica("r3");
  assert.equal(late.service.values.get("x"), "11");
  assert.equal(late.machine.stats().stateTransfers, 1);
});

Deno.test("pbft: a replica restarts from its records with the same state", () => {
  const cluster = new PbftTestCluster({ config: { checkpointInterval: 4, windowSize: 8, maxInflightBatches: 1 } });
  const alice = client(cluster, "alice");
  for (let i = 0; i < 6; i++) {
    alice.put(`k${i}`, String(i));
    cluster.deliver();
  }
  const before = cluster.replica("r2").service.snapshot();
  cluster.crash("r2");
  cluster.restart("r2");
  // The last execution was held back for the next sync and lost; the others tell it again.
  assert.ok(cluster.replica("r2").machine.executed >= 5);
  assert.ok(cluster.tickUntil(() => cluster.replica("r2").machine.executed === 6));
  assert.deepEqual(cluster.replica("r2").service.snapshot(), before);
  alice.put("after", "restart");
  cluster.deliver();
  assert.ok(executedEverywhere(cluster, 7));
});

Deno.test("pbft: a restarted backup sits out the view it crashed in: it never prepares against a prepare it forgot", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  // r2 gets the pre-prepare and prepares, but none of the others' prepares: its prepare is held back, never synced.
  cluster.drop = (message) => message.to === "r2" && bodies(message).some((m) => m.type === "prepare");
  alice.put("x", "1", ["r0"]);
  cluster.deliver();
  assert.ok(executedEverywhere(cluster, 1, ["r0", "r1", "r3"]));
  cluster.crash("r2"); // its pre-prepare and prepare are lost
  cluster.restart("r2");
  const restarted = cluster.replica("r2");
  assert.equal(restarted.machine.stats().sittingOut, true);
  // A Byzantine primary now pre-prepares something else at (view 0, sequence 1) for r2 alone.
  const other = alice.put("x", "2", []);
  const digest = batchDigest([other]);
  cluster.inFlight = [];
  cluster.inject("r2", "r0", {
    type: "prePrepare",
    view: 0,
    sequence: 1,
    digest,
    batch: [other],
    signature: cluster.keys.signer("r0").sign(prePrepareSigningBytes(0, 1, digest)),
  });
  const sent = cluster.inFlight.filter((message) => message.from === "r2").flatMap((m) => decodeMessages(m.frame));
  assert.deepEqual(sent.filter((message) => message.type === "prepare"), [], "a second prepare for (0, 1)");
  // From the next view on it takes part again: with r0 gone, view 1 needs r2's prepares.
  cluster.inFlight = [];
  cluster.crash("r0");
  let prepared = 0;
  cluster.drop = (message) => {
    if (message.from === "r2") prepared += bodies(message).filter((m) => m.type === "prepare").length;
    return false;
  };
  alice.put("y", "1", ["r1", "r2", "r3"]);
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 2, ["r1", "r2", "r3"])));
  assert.equal(restarted.machine.stats().sittingOut, false);
  assert.ok(prepared > 0, "r2 prepared in view 1");
});

Deno.test("pbft: a primary restarted in its own view starts a view change at once", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  alice.put("x", "1", ["r0"]);
  cluster.deliver();
  cluster.crash("r0");
  cluster.restart("r0");
  const stats = cluster.replica("r0").machine.stats();
  assert.equal(stats.view, 1);
  assert.equal(stats.viewChanging, true);
  cluster.deliver();
  alice.put("y", "2");
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 2)));
});

Deno.test("pbft: a restarted backup takes part again in its crash view once the log moved a window past what it forgot", () => {
  const cluster = new PbftTestCluster({ config: { checkpointInterval: 4, windowSize: 8, maxInflightBatches: 1 } });
  const alice = client(cluster, "alice");
  alice.put("x", "0");
  cluster.deliver();
  cluster.crash("r2");
  cluster.restart("r2");
  const r2 = cluster.replica("r2");
  assert.equal(r2.machine.stats().sittingOut, true);
  const prepared: number[] = [];
  cluster.drop = (message) => {
    if (message.from === "r2") { for (const m of bodies(message)) if (m.type === "prepare") prepared.push(m.sequence); }
    return false;
  };
  for (let i = 1; i <= 12; i++) {
    alice.put("x", String(i));
    cluster.deliver();
  }
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 13)));
  assert.equal(r2.machine.view, 0, "still the view it crashed in");
  assert.equal(r2.machine.stats().sittingOut, false);
  assert.ok(prepared.length > 0 && prepared.every((sequence) => sequence > 8), `r2 prepared ${prepared.join(", ")}`);
});

Deno.test("pbft: a replica restarted while changing views does not sit out the view it never entered", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  alice.put("x", "1");
  cluster.deliver();
  cluster.drop = (message) => message.to === "r2" && bodies(message).some((m) => m.type === "newView");
  cluster.crash("r0");
  alice.put("y", "2", ["r1", "r2", "r3"]);
  assert.ok(cluster.tickUntil(() => cluster.replica("r2").machine.viewChanging));
  cluster.crash("r2");
  cluster.restart("r2");
  // Sitting out view 1 would leave it to r1 and r3 alone, too few with r0 down: nothing would commit.
  assert.equal(cluster.replica("r2").machine.stats().sittingOut, false);
  cluster.drop = () => false;
  assert.ok(cluster.tickUntil(() => executedEverywhere(cluster, 2, ["r1", "r2", "r3"])));
});

Deno.test("pbft: a compacted log keeps the certificates of earlier views beside a new view", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  // Sequence 1 prepares everywhere in view 0 but commits nowhere.
  cluster.drop = (message) => bodies(message).some((m) => m.type === "commit");
  alice.put("x", "1");
  cluster.deliver();
  // View 1 re-proposes it; r2 enters view 1 but never gets view 1's prepares: it keeps its view 0 certificate.
  cluster.crash("r0");
  cluster.drop = (message) =>
    bodies(message).some((m) => m.type === "commit" || (message.to === "r2" && m.type === "prepare" && m.view === 1));
  assert.ok(
    cluster.tickUntil(() => cluster.replica("r2").machine.view === 1 && !cluster.replica("r2").machine.viewChanging),
  );
  const certificate = (records: DurableRecord[]) =>
    records.some((record) => record.kind === "commit" && record.view === 0 && record.sequence === 1);
  const compacted = cluster.replica("r2").machine.durableState();
  assert.ok(certificate(compacted), "the compacted state holds the view 0 certificate");
  const restored = new Pbft({
    ...DEFAULT_PBFT_CONFIG,
    id: "r2",
    members: cluster.members,
    signer: cluster.keys.signer("r2"),
    verifier: cluster.keys,
    service: new KvService(),
  }, compacted);
  // Replayed after the new view, which moves the slot to view 1, the certificate was dropped as stale.
  assert.ok(certificate(restored.durableState()), "and so does the replica restarted from it");
});

Deno.test("pbft: read-only requests are answered in one round trip by a quorum", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  alice.put("x", "1");
  cluster.deliver();
  const read = alice.get("x");
  cluster.deliver();
  assert.deepEqual(cluster.accepted(alice.id, read.sequence, 3), ['"1"']);
  for (const replica of cluster.replicas.values()) assert.equal(replica.machine.executed, 1, "reads are not ordered");
});

Deno.test("pbft: forged, replayed and equivocating messages change nothing and are counted", () => {
  const cluster = new PbftTestCluster();
  const alice = client(cluster, "alice");
  const request = alice.put("x", "1", ["r0"]);
  cluster.deliver();
  const backup = cluster.replica("r1");
  // A pre-prepare for sequence 2 "from the primary", signed by r3.
  const batch = [request];
  const digest = batchDigest(batch);
  const forged: PrePrepare = {
    type: "prePrepare",
    view: 0,
    sequence: 2,
    digest,
    batch,
    signature: cluster.keys.signer("r3").sign(prePrepareSigningBytes(0, 2, digest)),
  };
  cluster.inject("r1", "r3", forged);
  assert.equal(backup.machine.stats().rejected.r3?.["bad-signature"], 1);
  // The primary's real pre-prepare for sequence 1, replayed.
  const genuine: PrePrepare = {
    ...forged,
    sequence: 1,
    signature: cluster.keys.signer("r0").sign(prePrepareSigningBytes(0, 1, digest)),
  };
  cluster.inject("r1", "r0", genuine);
  // A second, different pre-prepare for sequence 1 from the primary: equivocation.
  const other = alice.put("x", "2", []);
  const otherDigest = batchDigest([other]);
  cluster.inject("r1", "r0", {
    ...genuine,
    digest: otherDigest,
    batch: [other],
    signature: cluster.keys.signer("r0").sign(prePrepareSigningBytes(0, 1, otherDigest)),
  });
  cluster.deliver();
  assert.equal(backup.machine.executed, 1);
  assert.deepEqual(backup.service.executedLog, [`${alice.id}:1`]);
  // Messages from a stranger are refused outright.
  cluster.inject("r1", "evil", { type: "commit", view: 0, sequence: 2, digest });
  assert.equal(backup.machine.stats().rejected.clients?.["not-member"], 1);
});
