import assert from "node:assert/strict";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { initialState } from "../../plugins/consensus-raft/raft.ts";
import type { Entry, Message } from "../../plugins/consensus-raft/types.ts";
import { appliedCommands, command, RaftHarness } from "../support/raft_harness.ts";

const entry = (index: number, term: number): Entry => ({ index, term, kind: "command", data: command(`e${index}`) });

Deno.test("raft: a single node elects itself, commits and applies a proposal", () => {
  const cluster = new RaftHarness(["a"]);
  cluster.elect("a");
  cluster.raft("a").propose(command("x"));
  cluster.settle();
  assert.deepEqual(appliedCommands(cluster.node("a")), ["x"]);
  assert.equal(cluster.raft("a").log.committed, 2); // the leader's no-op, then x
});

Deno.test("raft: three nodes elect one leader and apply proposals in the same order", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.elect("a");
  assert.equal(cluster.raft("b").leader, "a");
  for (const text of ["1", "2", "3"]) cluster.raft("a").propose(command(text));
  cluster.settle();
  cluster.tickAll(); // the heartbeat carries the commit index to the followers
  for (const id of ["a", "b", "c"]) assert.deepEqual(appliedCommands(cluster.node(id)), ["1", "2", "3"], id);
});

Deno.test("raft: a proposal or read on a follower is refused with the leader's id", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.elect("a");
  for (const call of [() => cluster.raft("b").propose(command("x")), () => cluster.raft("b").readIndex(1)]) {
    assert.throws(
      call,
      (error) => error instanceof ConsensusError && error.code === "NOT_LEADER" && error.leaderHint === "a",
    );
  }
});

Deno.test("raft: check-quorum makes a leader cut off from its followers step down", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.elect("a");
  cluster.drop = (message) => message.from === "a" || message.to === "a";
  cluster.tick("a", 10);
  assert.equal(cluster.raft("a").role, "leader", "the first check period still counts earlier answers");
  cluster.tick("a", 10);
  assert.equal(cluster.raft("a").role, "follower");
});

Deno.test("raft: with pre-vote an isolated node rejoins without raising the term", () => {
  for (const preVote of [true, false]) {
    const cluster = new RaftHarness(["a", "b", "c"], { preVote });
    cluster.elect("a");
    const term = cluster.raft("a").term;
    cluster.drop = (message) => message.from === "c" || message.to === "c";
    cluster.tick("c", 60);
    cluster.drop = () => false;
    cluster.tickAll(3);
    if (preVote) {
      assert.equal(cluster.raft("c").term, term, "pre-vote keeps the term");
      assert.equal(cluster.raft("a").role, "leader", "the leader is not disrupted");
    } else {
      assert.ok(cluster.raft("c").term > term, "without pre-vote the isolated node's campaigns raise the term");
    }
  }
});

Deno.test("raft: a leader never commits an earlier term's entry by counting replicas (Figure 8)", () => {
  const members = ["a", "b", "c"];
  const cluster = new RaftHarness(members, { maxBatchBytes: 1 });
  const state = (entries: Entry[]) => ({
    ...initialState(members),
    hardState: { term: 2, vote: null, commit: 1 },
    entries,
  });
  cluster.add("a", state([entry(1, 1), entry(2, 2)]));
  cluster.add("b", state([entry(1, 1)]));
  cluster.add("c", state([entry(1, 1)]));
  // Hold back the new leader's own no-op (index 3) so only the term-2 entry reaches a majority.
  cluster.drop = (message) => {
    if (message.type === "append") message.entries = message.entries.filter((e) => e.index < 3);
    return false;
  };
  cluster.elect("a");
  assert.equal(cluster.raft("a").term, 3);
  assert.equal(cluster.raft("b").log.term(2), 2, "the term-2 entry is on a majority");
  assert.equal(cluster.raft("a").log.committed, 1, "but it is not committed by counting");
  cluster.drop = () => false;
  cluster.tickAll();
  assert.equal(cluster.raft("a").log.committed, 3, "it commits with the leader's own entry");
});

Deno.test("raft: a follower's conflicting uncommitted suffix is replaced by the leader's", () => {
  const members = ["a", "b", "c"];
  const cluster = new RaftHarness(members);
  const state = (term: number, entries: Entry[]) => ({
    ...initialState(members),
    hardState: { term, vote: null, commit: 1 },
    entries,
  });
  cluster.add("a", state(3, [entry(1, 1), entry(2, 3)]));
  cluster.add("b", state(3, [entry(1, 1), entry(2, 3)]));
  cluster.add("c", state(2, [entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 2)]));
  cluster.elect("a");
  cluster.tickAll();
  const terms = (id: string) => cluster.node(id).durable.entries.map((e) => e.term);
  assert.deepEqual(terms("c"), terms("a"));
  assert.deepEqual(terms("c"), [1, 3, 4]);
});

Deno.test("raft: ReadIndex answers only after a quorum confirms the leader, and drops reads when leadership is lost", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.elect("a");
  cluster.drop = (message) => message.type === "heartbeatResp";
  cluster.raft("a").readIndex(7);
  cluster.settle();
  assert.deepEqual(cluster.node("a").reads, [], "no quorum yet");
  cluster.drop = () => false;
  cluster.tick("a");
  assert.deepEqual(cluster.node("a").reads, [{ requestId: 7, index: cluster.raft("a").log.committed }]);

  cluster.drop = (message) => message.type === "heartbeatResp";
  cluster.raft("a").readIndex(8);
  cluster.settle();
  const term = cluster.raft("a").term;
  cluster.raft("a").step({ type: "heartbeat", from: "b", to: "a", term: term + 1, commit: 0, readSeq: 0 });
  cluster.settle();
  assert.deepEqual(cluster.node("a").dropped, [8]);
});

Deno.test("raft: leadership transfers to a caught-up follower; proposals wait meanwhile", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.elect("a");
  cluster.drop = (message) => message.to === "b" || message.from === "b";
  cluster.raft("a").transferLeadership("b");
  assert.throws(() => cluster.raft("a").propose(command("x")), /being transferred to b/);
  cluster.tick("a", 10); // b never answers: the transfer is abandoned after an election timeout
  assert.equal(cluster.raft("a").leadTransferee, null);
  cluster.raft("a").propose(command("x"));
  cluster.drop = () => false;
  cluster.raft("a").transferLeadership("c");
  cluster.settle();
  assert.equal(cluster.raft("c").role, "leader");
  assert.equal(cluster.raft("a").role, "follower");
  assert.equal(cluster.raft("a").leader, "c");
  cluster.tickAll();
  assert.deepEqual(appliedCommands(cluster.node("c")), ["x"], "nothing proposed before the transfer is lost");
});

Deno.test("raft: a new member catches up from a snapshot; a removed leader steps down", () => {
  const cluster = new RaftHarness(["a", "b", "c"], {}, ["d"]);
  cluster.elect("a");
  for (let i = 0; i < 5; i++) cluster.raft("a").propose(command(`v${i}`));
  cluster.settle();
  const a = cluster.raft("a");
  a.compact(a.log.applied, command("state"));
  assert.ok(a.log.snapshot.index >= 6);
  cluster.raft("a").proposeMembership({ add: "d" });
  cluster.settle();
  cluster.tickAll();
  const d = cluster.node("d");
  assert.deepEqual(d.raft.members, ["a", "b", "c", "d"]);
  assert.equal(d.durable.snapshot.index, a.log.snapshot.index, "d installed the snapshot");
  assert.equal(d.raft.log.committed, a.log.committed);
  assert.throws(() => a.proposeMembership({ add: "d" }), /already a member/);

  a.proposeMembership({ remove: "a" });
  cluster.settle();
  assert.equal(a.role, "follower");
  assert.equal(a.promotable, false);
  for (let i = 0; i < 40 && !["b", "c", "d"].some((id) => cluster.raft(id).role === "leader"); i++) cluster.tickAll();
  const leader = ["b", "c", "d"].find((id) => cluster.raft(id).role === "leader");
  assert.ok(leader, "the remaining members elect a leader");
  assert.deepEqual(cluster.raft(leader).members, ["b", "c", "d"]);
});

Deno.test("raft: a restarted node keeps its term and vote and never votes twice in a term", () => {
  const cluster = new RaftHarness(["a", "b", "c"], { preVote: false });
  const sent: Message[] = [];
  cluster.drop = (message) => (sent.push(message), true);
  const vote = (from: string): Message => ({
    type: "vote",
    from,
    to: "a",
    term: 1,
    lastIndex: 0,
    lastTerm: 0,
    force: false,
  });
  cluster.raft("a").step(vote("b"));
  cluster.settle();
  const restarted = cluster.restart("a");
  assert.equal(restarted.raft.term, 1);
  assert.equal(restarted.raft.vote, "b");
  restarted.raft.step(vote("c"));
  cluster.settle();
  const answers = sent.filter((message) => message.type === "voteResp");
  assert.deepEqual(answers.map((message) => [message.to, message.type === "voteResp" && message.granted]), [
    ["b", true],
    ["c", false],
  ]);
});

Deno.test("raft: campaign() elects a follower at once, without an election timeout; it restarts no campaign and moves no leader", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.raft("b").campaign();
  cluster.settle();
  assert.equal(cluster.raft("b").role, "leader", "no tick passed");
  const term = cluster.raft("b").term;
  cluster.raft("b").campaign();
  cluster.raft("a").campaign(); // a follower with a live leader: pre-vote finds the leader alive
  cluster.settle();
  assert.equal(cluster.raft("b").role, "leader");
  assert.equal(cluster.raft("b").term, term, "neither call raised the term");
});

Deno.test("raft: heartbeat() sends the leader's commit to every follower now, not at the next tick; elsewhere nothing", () => {
  const cluster = new RaftHarness(["a", "b", "c"]);
  cluster.elect("a");
  cluster.raft("a").propose(command("x"));
  cluster.settle();
  cluster.raft("b").heartbeat();
  assert.equal(cluster.raft("b").hasReady(), false, "a follower sends nothing");
  cluster.raft("a").heartbeat();
  const sent = cluster.raft("a").ready().messages.filter((message) => message.type === "heartbeat");
  assert.deepEqual(sent.map((message) => message.to).sort(), ["b", "c"]);
  for (const message of sent) assert.equal((message as { commit: number }).commit, cluster.raft("a").log.committed);
});

Deno.test("raft: with a first leader agreed in every member's initial state, it leads term 1 at once; no one else, and not once its log holds anything", () => {
  const members = ["a", "b", "c"];
  const cluster = new RaftHarness([]);
  for (const id of members) cluster.add(id, initialState(members, "b"));
  assert.equal(cluster.raft("a").leadFirstTerm(), false, "not the agreed one");
  assert.equal(cluster.raft("b").leadFirstTerm(), true);
  assert.equal(cluster.raft("b").role, "leader");
  assert.equal(cluster.raft("b").term, 1, "no election: term 1, the agreed votes");
  cluster.raft("b").propose(command("x"));
  cluster.settle();
  cluster.tickAll();
  for (const id of members) assert.deepEqual(appliedCommands(cluster.node(id)), ["x"], id);
  assert.equal(cluster.raft("b").leadFirstTerm(), false, "already leading");
  const restarted = cluster.restart("b");
  assert.equal(restarted.raft.leadFirstTerm(), false, "its log holds its first term's entries: no second first term");
  assert.throws(() => initialState(members, "z"), /not a member/);
});
