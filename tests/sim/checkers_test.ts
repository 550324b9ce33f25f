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
