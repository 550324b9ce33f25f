import assert from "node:assert/strict";
import type { Entry } from "../../plugins/consensus-raft/types.ts";
import { RaftInvariants } from "./invariants.ts";
import { encodeSimKvCommand, type SimKvCommand, SimKvMachine } from "./sim_kv.ts";
import { checkLinearizable, type KvOperation, settleUnknownWrites } from "../../testing/linearizability.ts";

const op = (
  clientId: string,
  kind: "put" | "get",
  value: string | null,
  callMs: number,
  returnMs: number,
  key = "x",
): KvOperation => ({ clientId, kind, key, value, callMs, returnMs });

Deno.test("linearizability: sequential and concurrent histories that fit a register pass", () => {
  assert.ok(checkLinearizable([]).ok);
  assert.ok(checkLinearizable([op("a", "put", "1", 0, 10), op("b", "get", "1", 20, 30)]).ok);
  // A read concurrent with a write may see either value.
  assert.ok(
    checkLinearizable([op("a", "put", "1", 0, 10), op("b", "put", "2", 15, 40), op("c", "get", "1", 20, 30)]).ok,
  );
  assert.ok(
    checkLinearizable([op("a", "put", "1", 0, 10), op("b", "put", "2", 15, 40), op("c", "get", "2", 20, 30)]).ok,
  );
  assert.ok(checkLinearizable([op("a", "get", null, 0, 5), op("b", "put", "1", 10, 20)]).ok);
});

Deno.test("linearizability: a stale read fails, naming the key", () => {
  const result = checkLinearizable([
    op("a", "put", "1", 0, 10, "k"),
    op("a", "put", "2", 20, 30, "k"),
    op("b", "get", "1", 40, 50, "k"),
    op("c", "get", null, 0, 5, "other"),
  ]);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.key, "k");
});

Deno.test("linearizability: a read cannot go back after another read saw the newer value", () => {
  const result = checkLinearizable([
    op("a", "put", "1", 0, 10),
    op("a", "put", "2", 20, 100),
    op("b", "get", "2", 30, 40),
    op("c", "get", "1", 50, 60),
  ]);
  assert.equal(result.ok, false);
});

Deno.test("linearizability: a put with an unknown outcome may take effect late, or never", () => {
  assert.ok(
    checkLinearizable([op("a", "put", "1", 0, Infinity), op("b", "get", null, 10, 20), op("b", "get", "1", 30, 40)]).ok,
  );
  assert.ok(checkLinearizable([op("a", "put", "1", 0, Infinity), op("b", "get", null, 10, 20)]).ok);
  // But never before it was called.
  assert.equal(checkLinearizable([op("b", "get", "1", 0, 5), op("a", "put", "1", 10, Infinity)]).ok, false);
});

Deno.test("linearizability: a value nobody wrote fails", () => {
  assert.equal(checkLinearizable([op("a", "put", "1", 0, 10), op("b", "get", "9", 20, 30)]).ok, false);
});

const cas = (
  clientId: string,
  expected: string | null,
  value: string,
  swapped: boolean | undefined,
  callMs: number,
  returnMs: number,
): KvOperation => ({ clientId, kind: "cas", key: "x", value, expected, swapped, callMs, returnMs });
const append = (clientId: string, value: string, callMs: number, returnMs: number): KvOperation => ({
  clientId,
  kind: "append",
  key: "x",
  value,
  callMs,
  returnMs,
});

Deno.test("linearizability: compare-and-swap swaps only from the expected value, and says so", () => {
  // Sequential: from missing, then from "1".
  assert.ok(
    checkLinearizable([cas("a", null, "1", true, 0, 10), cas("b", "1", "2", true, 20, 30), op("c", "get", "2", 40, 50)])
      .ok,
  );
  // A failed cas leaves the value alone.
  assert.ok(
    checkLinearizable([op("a", "put", "1", 0, 10), cas("b", "0", "2", false, 20, 30), op("c", "get", "1", 40, 50)]).ok,
  );
  // Two concurrent cas from the same value: exactly one wins, either one.
  assert.ok(
    checkLinearizable([op("a", "put", "0", 0, 5), cas("b", "0", "b", true, 10, 30), cas("c", "0", "c", false, 10, 30)])
      .ok,
  );
  assert.ok(
    checkLinearizable([op("a", "put", "0", 0, 5), cas("b", "0", "b", false, 10, 30), cas("c", "0", "c", true, 10, 30)])
      .ok,
  );
});

Deno.test("linearizability: a cas history no order explains fails", () => {
  // Both concurrent cas from one value claim to have won.
  assert.equal(
    checkLinearizable([op("a", "put", "0", 0, 5), cas("b", "0", "b", true, 10, 30), cas("c", "0", "c", true, 10, 30)])
      .ok,
    false,
  );
  // A cas that says it swapped from a value the key did not hold.
  assert.equal(checkLinearizable([op("a", "put", "1", 0, 10), cas("b", "0", "2", true, 20, 30)]).ok, false);
  // A cas that says it failed although the key held the expected value.
  assert.equal(checkLinearizable([op("a", "put", "1", 0, 10), cas("b", "1", "2", false, 20, 30)]).ok, false);
  // A read after a successful cas that still sees the old value.
  assert.equal(
    checkLinearizable([op("a", "put", "1", 0, 10), cas("b", "1", "2", true, 20, 30), op("c", "get", "1", 40, 50)]).ok,
    false,
  );
});

Deno.test("linearizability: a cas of unknown outcome swaps exactly when it finds its expected value", () => {
  const history = (expected: string, read: string) =>
    checkLinearizable([
      op("a", "put", "1", 0, 10),
      cas("b", expected, "2", undefined, 20, Infinity),
      op("c", "get", read, 40, 50),
    ]).ok;
  // It may have happened (the read sees it) or not (the read sees the old value)...
  assert.ok(history("1", "2"));
  assert.ok(history("1", "1"));
  // ...but it cannot swap from a value the key never held.
  assert.equal(history("9", "2"), false);
});

Deno.test("linearizability: appends accumulate in an order every read agrees with", () => {
  assert.ok(checkLinearizable([append("a", "1", 0, 10), append("b", "2", 20, 30), op("c", "get", "12", 40, 50)]).ok);
  // Concurrent appends may land in either order, but every later read sees the same one.
  assert.ok(
    checkLinearizable([
      append("a", "1", 0, 30),
      append("b", "2", 0, 30),
      op("c", "get", "21", 40, 50),
      op("d", "get", "21", 60, 70),
    ]).ok,
  );
  assert.equal(
    checkLinearizable([
      append("a", "1", 0, 30),
      append("b", "2", 0, 30),
      op("c", "get", "21", 40, 50),
      op("d", "get", "12", 60, 70),
    ]).ok,
    false,
  );
  // An acknowledged append that a later read lacks was lost; one applied twice shows too.
  assert.equal(
    checkLinearizable([append("a", "1", 0, 10), append("b", "2", 20, 30), op("c", "get", "2", 40, 50)]).ok,
    false,
  );
  assert.equal(checkLinearizable([append("a", "1", 0, 10), op("c", "get", "11", 40, 50)]).ok, false);
  // After a put the appends start over from the written value.
  assert.ok(
    checkLinearizable([
      append("a", "1", 0, 10),
      op("b", "put", "p", 20, 30),
      append("a", "2", 40, 50),
      op("c", "get", "p2", 60, 70),
    ]).ok,
  );
  // An append of unknown outcome: in or out, never half.
  assert.equal(checkLinearizable([append("a", "1", 0, Infinity), op("c", "get", "", 40, 50)]).ok, false);
  assert.ok(
    checkLinearizable([append("a", "1", 0, Infinity), op("c", "get", null, 40, 50), op("c", "get", "1", 60, 70)]).ok,
  );
});

Deno.test("linearizability: operations that cannot be checked are refused, naming the field", () => {
  assert.throws(
    () => checkLinearizable([{ ...cas("a", "1", "2", undefined, 0, 10), swapped: "yes" as unknown as boolean }]),
    /history\[0\].*\.swapped/,
  );
  assert.throws(
    () => checkLinearizable([{ ...op("a", "get", null, 0, 1), kind: "delete" as "get" }]),
    /history\[0\].*\.kind: unknown "delete"/,
  );
  assert.throws(
    () =>
      checkLinearizable([{ clientId: "a", kind: "cas", key: "x", value: "2", swapped: true, callMs: 0, returnMs: 1 }]),
    /history\[0\].*\.expected/,
  );
  assert.throws(() => checkLinearizable([{ ...append("a", "1", 0, 10), value: null }]), /history\[0\].*\.value/);
  assert.throws(() => checkLinearizable([op("a", "put", "1", 10, 5)]), /history\[0\].*\.returnMs/);
});

const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  kind: "command",
  data: new TextEncoder().encode(text),
});
const view = (terms: Record<number, number>, snapshotIndex = 0) => ({
  term: (index: number) => terms[index],
  snapshotIndex,
  lastIndex: Math.max(0, ...Object.keys(terms).map(Number)),
});

Deno.test("invariants: two leaders in one term violate election safety", () => {
  const checker = new RaftInvariants();
  checker.leaderElected("a", 1, view({}));
  checker.leaderElected("a", 1, view({}));
  checker.leaderElected("b", 2, view({}));
  assert.deepEqual(checker.violations, []);
  checker.leaderElected("c", 2, view({}));
  assert.match(checker.violations[0], /election safety: b and c both lead term 2/);
});

Deno.test("invariants: different entries at one index and term violate log matching", () => {
  const checker = new RaftInvariants();
  checker.entryPersisted("a", entry(3, 2), 1);
  checker.entryPersisted("b", entry(3, 2), 1);
  assert.deepEqual(checker.violations, []);
  checker.entryPersisted("c", entry(3, 2, "other"), 1);
  checker.entryPersisted("d", entry(3, 2), 2);
  assert.equal(checker.violations.length, 2);
  assert.match(checker.violations[0], /log matching: c/);
  assert.match(checker.violations[1], /log matching: d .* after term 2/);
});

Deno.test("invariants: applying different entries at one index violates state machine safety", () => {
  const checker = new RaftInvariants();
  checker.entryApplied("a", entry(1, 1), 1, []);
  checker.entryApplied("b", entry(1, 1), 1, []);
  assert.deepEqual(checker.violations, []);
  checker.entryApplied("c", entry(1, 2, "x"), 2, []);
  assert.match(checker.violations[0], /state machine safety: c/);
});

Deno.test("invariants: a leader missing a committed entry violates leader completeness", () => {
  const checker = new RaftInvariants();
  checker.entryApplied("a", entry(1, 1), 1, []);
  checker.entryApplied("a", entry(2, 1), 1, []);
  checker.leaderElected("b", 2, view({ 1: 1, 2: 1 }));
  assert.deepEqual(checker.violations, []);
  checker.leaderElected("c", 3, view({ 1: 1 }));
  assert.match(
    checker.violations[0],
    /leader completeness: c, leader of term 3, has term undefined at committed index 2/,
  );
  // Entries covered by the leader's snapshot count as present.
  checker.leaderElected("d", 4, view({}, 2));
  assert.equal(checker.violations.length, 1);
  // A later commit is checked against the leaders of later terms.
  checker.entryApplied("a", entry(3, 1), 1, [["e", 5, view({ 1: 1, 2: 1 })]]);
  assert.match(
    checker.violations[1],
    /leader completeness: e, leader of term 5, has term undefined at committed index 3/,
  );
});

Deno.test("invariants: a second vote in one term, for another candidate, violates vote safety", () => {
  const checker = new RaftInvariants();
  checker.voteGranted("a", "b", 3);
  checker.voteGranted("a", "b", 3); // the same vote again (a duplicate reply)
  checker.voteGranted("a", "c", 4);
  assert.deepEqual(checker.violations, []);
  checker.voteGranted("a", "d", 4);
  assert.match(checker.violations[0], /vote safety: a voted for c and for d in term 4/);
});

Deno.test("invariants: dropping an entry of the current term violates entries kept", () => {
  const checker = new RaftInvariants();
  const stored = [entry(1, 1), entry(2, 2), entry(3, 2)];
  // Replacing entries of an earlier term, or re-writing the same term's entries, is fine.
  checker.entriesKept("a", 3, stored, { entries: [entry(2, 3)] });
  checker.entriesKept("a", 2, stored, { entries: [entry(3, 2), entry(4, 2)] });
  assert.deepEqual(checker.violations, []);
  checker.entriesKept("a", 2, stored, { entries: [entry(3, 1)] });
  checker.entriesKept("b", 2, stored, {
    entries: [],
    snapshot: { index: 1, term: 1, members: [], data: new Uint8Array() },
  });
  assert.match(checker.violations[0], /entries kept: a drops entry 3 of its current term 2/);
  assert.match(checker.violations[1], /entries kept: b drops entry 2 of its current term 2/);
});

Deno.test("invariants: a committed entry that a node able to win an election lacks violates commit durability", () => {
  const node = (id: string, terms: Record<number, number>, members = ["a", "b", "c"]) => {
    const log = view(terms);
    return { id, ...log, lastTerm: terms[log.lastIndex] ?? 0, members };
  };
  const checker = new RaftInvariants();
  // a and b hold (2, term 1); c holds (2, term 2) instead, and its last term beats b's: b and c could elect c.
  const exposed = [node("a", { 1: 1, 2: 1, 3: 3 }), node("b", { 1: 1, 2: 1 }), node("c", { 1: 1, 2: 2 })];
  checker.committed("a", 2, 1, exposed);
  assert.match(
    checker.violations[0],
    /commit durability: a counts 2 \(term 1\) as committed, but c lacks it and could be elected by b, c/,
  );
  // Once b holds the leader's entry of term 3, c can no longer win: committing 3 is safe.
  const safe = [node("a", { 1: 1, 2: 1, 3: 3 }), node("b", { 1: 1, 2: 1, 3: 3 }), node("c", { 1: 1, 2: 2 })];
  checker.committed("a", 3, 3, safe);
  // A node that is not a voter, or has the entry in its snapshot, cannot take it away.
  checker.committed("a", 2, 1, [safe[0], safe[1], node("c", { 1: 1, 2: 2 }, ["a", "b"])]);
  checker.committed("a", 2, 1, [safe[0], safe[1], { ...node("c", { 9: 9 }), snapshotIndex: 9 }]);
  assert.equal(checker.violations.length, 1);
});

Deno.test("linearizability: unknown writes are settled by what the replicas applied", () => {
  const history = [
    op("a", "put", "1", 0, Infinity), // applied at 15
    op("b", "put", "2", 5, Infinity), // never applied: dropped
    op("c", "get", "1", 20, 30),
  ];
  const settled = settleUnknownWrites(history, (write) => (write.value === "1" ? 15 : undefined));
  assert.deepEqual(settled.map((write) => [write.value, write.returnMs]), [["1", 15], ["1", 30]]);
  // Settled, a read before the write's first application can no longer see it.
  const early = settleUnknownWrites([op("a", "put", "1", 0, Infinity), op("c", "get", null, 20, 30)], () => 10);
  assert.equal(checkLinearizable(early).ok, false);
});

Deno.test("linearizability: a search past its budget fails, saying so", () => {
  // Eight concurrent appends: every order is a distinct state, so a budget of 100 states is not enough.
  const history = Array.from({ length: 8 }, (_, i) => append(`c${i}`, `${i}`, 0, 100));
  history.push(op("r", "get", "76543210", 200, 210));
  const result = checkLinearizable(history, 100);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, "search budget exceeded");
  assert.ok(checkLinearizable(history).ok);
});

Deno.test("sim state machine: put, cas and append return the previous value; cas swaps only from the expected one", () => {
  const applied: string[] = [];
  const machine = new SimKvMachine((command, index) => applied.push(`${index}:${command.op}`));
  const run = (command: SimKvCommand, index: number) => machine.apply(encodeSimKvCommand(command), { index });
  assert.equal(run({ op: "append", key: "x", value: "a" }, 1), null);
  assert.equal(run({ op: "append", key: "x", value: "b" }, 2), "a");
  assert.equal(run({ op: "cas", key: "x", expected: "a", value: "z" }, 3), "ab"); // not swapped
  assert.equal(machine.get("x"), "ab");
  assert.equal(run({ op: "cas", key: "x", expected: "ab", value: "c" }, 4), "ab"); // swapped
  assert.equal(run({ op: "cas", key: "y", expected: null, value: "1" }, 5), null); // swapped from missing
  assert.equal(run({ op: "put", key: "x", value: "p" }, 6), "c");
  const copy = new SimKvMachine();
  copy.restore(machine.snapshot());
  assert.deepEqual([copy.get("x"), copy.get("y"), copy.get("z")], ["p", "1", null]);
  assert.deepEqual(applied, ["1:append", "2:append", "3:cas", "4:cas", "5:cas", "6:put"]);
  assert.throws(
    () => machine.apply(new TextEncoder().encode(JSON.stringify({ op: "delete", key: "x" }))),
    /not a command/,
  );
});
