/**
 * A linearizability checker for key-value histories, in the manner of
 * Porcupine: the Wing & Gong search with Lowe's memoization of
 * (linearized set, state), run per key (a register per key is P-compositional).
 *
 * Operations whose outcome is unknown (a put that timed out) have
 * `returnMs: Infinity`: they may take effect at any point after their call,
 * or never.
 *
 * @module
 */

/** One client operation in a history. */
export interface KvOperation {
  /** Who issued it (for reports). */
  clientId: string;
  /** `put` writes `value`; `get` observed `value` (`null` for missing). */
  kind: "put" | "get";
  /** The key. */
  key: string;
  /** Written or observed value. */
  value: string | null;
  /** When the client called. */
  callMs: number;
  /** When it returned; `Infinity` when the outcome is unknown. */
  returnMs: number;
}

/** The verdict: linearizable, or the key whose history is not, with its operations. */
export type LinearizabilityResult = { ok: true } | { ok: false; key: string; operations: KvOperation[] };

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
export function checkLinearizable(history: readonly KvOperation[]): LinearizabilityResult {
  const byKey = new Map<string, KvOperation[]>();
  for (const op of history) {
    if (!byKey.has(op.key)) byKey.set(op.key, []);
    byKey.get(op.key)!.push(op);
  }
  for (const [key, operations] of byKey) {
    if (!checkRegister(operations)) return { ok: false, key, operations };
  }
  return { ok: true };
}

/** Wing & Gong with memoization over one register's history (initial value `null`). */
export function checkRegister(operations: readonly KvOperation[]): boolean {
  const head = buildEventList(operations);
  const cache = new Set<string>();
  const stack: { call: Node; state: string | null }[] = [];
  let linearized = 0n;
  let state: string | null = null;
  let entry = head.next;
  while (head.next !== null) {
    if (entry === null) return false;
    if (entry.isCall) {
      const op = operations[entry.op];
      const ok = op.kind === "put" || op.value === state;
      const nextState: string | null = op.kind === "put" ? op.value : state;
      if (ok) {
        const nextLinearized = linearized | (1n << BigInt(entry.op));
        const key = `${nextLinearized.toString(36)}|${nextState}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = nextState;
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
