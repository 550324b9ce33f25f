import assert from "node:assert/strict";
import type { Entry } from "../../plugins/consensus-raft/types.ts";
import { RaftInvariants } from "./invariants.ts";
import { checkLinearizable, type KvOperation } from "./linearizability.ts";

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
  // It may have happened (the read sees it) or not (the read sees the old value).
  assert.ok(
    checkLinearizable([
      op("a", "put", "1", 0, 10),
      cas("b", "1", "2", undefined, 20, Infinity),
      op("c", "get", "2", 40, 50),
    ]).ok,
  );
  assert.ok(
    checkLinearizable([
      op("a", "put", "1", 0, 10),
      cas("b", "1", "2", undefined, 20, Infinity),
      op("c", "get", "1", 40, 50),
    ]).ok,
  );
  // But it cannot swap from a value the key never held.
  assert.equal(
    checkLinearizable([
      op("a", "put", "1", 0, 10),
      cas("b", "9", "2", undefined, 20, Infinity),
      op("c", "get", "2", 40, 50),
    ]).ok,
    false,
  );
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
  assert.ok(checkLinearizable([append("a", "1", 0, Infinity), op("c", "get", "", 40, 50)]).ok === false);
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
