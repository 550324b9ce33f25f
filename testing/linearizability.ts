/**
 * A linearizability checker for key-value histories, in the manner of
 * Porcupine: the Wing & Gong search with Lowe's memoization of
 * (linearized set, state), run per key (every operation touches one key, so
 * the check is P-compositional).
 *
 * The model is a map of string values with four operations, so Jepsen-style
 * histories check without relaxation: `get` (observes a value or `null`),
 * `put` (a blind write), `cas` (compare-and-swap: writes `value` only when
 * the key holds `expected`, and says whether it did) and `append` (adds
 * `value` to the end of the string, a missing key counting as empty). A cas
 * or append makes a write's effect depend on the state before it, so a lost
 * or reordered write shows in every later read, not only in the next one.
 *
 * Operations whose outcome is unknown (a write that timed out) have
 * `returnMs: Infinity`: they may take effect at any point after their call,
 * or never. A cas whose result is unknown (`swapped` absent) swaps exactly
 * when it finds `expected`.
 *
 * @module
 */
import { SwitchyardError } from "../core/util/errors.ts";

/** One client operation in a history. */
export interface KvOperation {
  /** Who issued it (for reports). */
  clientId: string;
  /** What it did (see the module doc). */
  kind: "put" | "get" | "cas" | "append";
  /** The key. */
  key: string;
  /** `put`: written; `get`: observed (`null` for missing); `cas`: the new value; `append`: the suffix. */
  value: string | null;
  /** `cas` only: the value it swaps from (`null`: the key is missing). */
  expected?: string | null;
  /** `cas` only: whether it swapped; absent when unknown (it then swapped exactly when it found `expected`). */
  swapped?: boolean;
  /** When the client called. */
  callMs: number;
  /** When it returned; `Infinity` when the outcome is unknown. */
  returnMs: number;
}

/**
 * The verdict: linearizable, or the key whose history is not (or whose search
 * went past its budget, which `reason` then says), with its operations.
 */
export type LinearizabilityResult =
  | { ok: true }
  | { ok: false; key: string; operations: KvOperation[]; reason: "not linearizable" | "search budget exceeded" };

/** States the search may memoize per key before it gives up (and fails: nothing is passed unchecked). */
export const DEFAULT_MAX_STATES = 2_000_000;

/** The value one key holds; `null` while missing. */
export type KvState = string | null;

/**
 * The sequential specification of one key: whether `op` may run on `state`
 * with the outcome it recorded, and the state after it.
 */
export function stepKv(state: KvState, op: KvOperation): { ok: boolean; state: KvState } {
  switch (op.kind) {
    case "get":
      return { ok: op.value === state, state };
    case "put":
      return { ok: true, state: op.value };
    case "append":
      return { ok: true, state: (state ?? "") + op.value! };
    case "cas": {
      const matches = state === op.expected;
      return { ok: op.swapped === undefined || op.swapped === matches, state: matches ? op.value : state };
    }
  }
}

/** Rejects operations that cannot be checked, naming the field. */
function validate(op: KvOperation, index: number): void {
  const where = `history[${index}] (${op.clientId} ${op.kind} ${op.key})`;
  if (!["get", "put", "cas", "append"].includes(op.kind)) {
    throw new SwitchyardError("INVALID_ARGUMENT", `${where}.kind: unknown "${op.kind}"`);
  }
  if (op.kind !== "get" && typeof op.value !== "string") {
    throw new SwitchyardError("INVALID_ARGUMENT", `${where}.value: must be a string`);
  }
  if (op.kind === "cas") {
    if (op.expected === undefined) {
      throw new SwitchyardError("INVALID_ARGUMENT", `${where}.expected: a cas needs the value it swaps from`);
    }
    if (op.swapped !== undefined && typeof op.swapped !== "boolean") {
      throw new SwitchyardError("INVALID_ARGUMENT", `${where}.swapped: must be a boolean, or absent when unknown`);
    }
  }
  if (!(op.returnMs >= op.callMs)) throw new SwitchyardError("INVALID_ARGUMENT", `${where}.returnMs: before callMs`);
}

interface Node {
  op: number; // index into the key's operations
  isCall: boolean;
  match: Node | null; // a call's return node
  prev: Node | null;
  next: Node | null;
}

/**
 * Checks a whole history.
 *
 * @example
 * ```ts
 * const result = checkLinearizable([
 *   { clientId: "a", kind: "put", key: "x", value: "1", callMs: 0, returnMs: 10 },
 *   { clientId: "b", kind: "get", key: "x", value: null, callMs: 20, returnMs: 30 }, // stale read
 * ]);
 * result.ok; // false
 * ```
 */
export function checkLinearizable(
  history: readonly KvOperation[],
  maxStates = DEFAULT_MAX_STATES,
): LinearizabilityResult {
  history.forEach(validate);
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    if (!byKey.has(op.key)) byKey.set(op.key, []);
    byKey.get(op.key)!.push(op);
  }
  for (const [key, operations] of byKey) {
    const verdict = checkKey(operations, maxStates);
    if (verdict !== true) {
      return { ok: false, key, operations, reason: verdict === false ? "not linearizable" : "search budget exceeded" };
    }
  }
  return { ok: true };
}

/**
 * Narrows writes of unknown outcome with what the replicas know: a write no
 * replica ever applied had no effect and is dropped; one that was applied
 * took effect by the first time a replica applied it, which becomes its
 * return. Sound for a correct system (a write takes effect when it commits,
 * before anyone applies it) and stricter than leaving it open.
 * `firstAppliedMs` looks a write up (by its unique value) and returns
 * `undefined` for one never applied.
 */
export function settleUnknownWrites(
  history: readonly KvOperation[],
  firstAppliedMs: (op: KvOperation) => number | undefined,
): KvOperation[] {
  const settled: KvOperation[] = [];
  for (const op of history) {
    if (Number.isFinite(op.returnMs) || op.kind === "get") {
      settled.push(op);
      continue;
    }
    const appliedMs = firstAppliedMs(op);
    if (appliedMs !== undefined) settled.push({ ...op, returnMs: Math.max(op.callMs, appliedMs) });
  }
  return settled;
}

/**
 * Wing & Gong with memoization over one key's history (initial value `null`):
 * true when linearizable, false when not, `"budget"` when more than
 * `maxStates` states were memoized without a verdict.
 */
export function checkKey(operations: readonly KvOperation[], maxStates = DEFAULT_MAX_STATES): boolean | "budget" {
  const head = buildEventList(operations);
  const cache = new Set<string>();
  const stack: { call: Node; state: KvState }[] = [];
  let linearized = 0n;
  let state: KvState = null;
  let entry = head.next;
  while (head.next !== null) {
    if (entry === null) return false;
    if (entry.isCall) {
      const step = stepKv(state, operations[entry.op]);
      if (step.ok) {
        const nextLinearized = linearized | (1n << BigInt(entry.op));
        // A missing key and an empty string differ: "n" and "s:..." keep them apart in the cache.
        const key = `${nextLinearized.toString(36)}|${step.state === null ? "n" : `s:${step.state}`}`;
        if (!cache.has(key)) {
          if (cache.size >= maxStates) return "budget";
          cache.add(key);
          stack.push({ call: entry, state });
          state = step.state;
          linearized = nextLinearized;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // Reached a return whose call is not linearized yet: backtrack.
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized &= ~(1n << BigInt(top.call.op));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

function buildEventList(operations: readonly KvOperation[]): Node {
  const events: { timeMs: number; isCall: boolean; op: number }[] = [];
  operations.forEach((op, index) => {
    events.push({ timeMs: op.callMs, isCall: true, op: index });
    events.push({ timeMs: op.returnMs, isCall: false, op: index });
  });
  // At equal times calls come first: the operations count as concurrent (the permissive reading).
  events.sort((a, b) => a.timeMs - b.timeMs || Number(b.isCall) - Number(a.isCall) || a.op - b.op);
  const head: Node = { op: -1, isCall: false, match: null, prev: null, next: null };
  const calls = new Map<number, Node>();
  let tail = head;
  for (const event of events) {
    const node: Node = { op: event.op, isCall: event.isCall, match: null, prev: tail, next: null };
    tail.next = node;
    tail = node;
    if (event.isCall) calls.set(event.op, node);
    else calls.get(event.op)!.match = node;
  }
  return head;
}

function lift(call: Node): void {
  call.prev!.next = call.next;
  if (call.next) call.next.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

function unlift(call: Node): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next) call.next.prev = call;
}
