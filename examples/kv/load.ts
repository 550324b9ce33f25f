/**
 * Client load on the key-value example for the crash tests, and the checks
 * of its outcome. Each client puts and gets a few shared keys (recorded in a
 * history for the linearizability checker; a put whose answer was lost may
 * have taken effect and never returns) and appends its operation numbers to
 * a trail of its own: every acknowledged append must be there exactly once,
 * every unknown one at most once, in order.
 *
 * @module
 */
import assert from "node:assert/strict";
import { KvHttpClient, UnknownOutcome } from "./client.ts";
import { checkLinearizable, type KvOperation } from "../../testing/linearizability.ts";

/** The keys the load uses. */
export const LOAD_KEYS = ["k0", "k1", "k2", "k3", "k4"];

/** A running load. */
export interface KvLoad {
  /** Completed (and unknown) operations. */
  history: KvOperation[];
  /** Puts acknowledged so far. */
  readonly acknowledgedPuts: number;
  /** Puts whose outcome is unknown. */
  readonly unknownPuts: number;
  /** Operations completed so far (puts, gets and appends, acknowledged or of unknown outcome). */
  readonly completed: number;
  /** The error that stopped the clients (a refused write: 400, 409, 500), if one did. */
  readonly failure: unknown;
  /**
   * Stops the clients and waits for them; returns how often they retried
   * after unknown outcomes, or rejects with the error that stopped them.
   */
  stop(): Promise<number>;
  /** Reads every key and trail through `urls` and checks the whole history. */
  check(urls: string[]): Promise<void>;
}

/** How a load writes. */
export interface KvLoadOptions {
  /** Pad each put's value to this many bytes with text (as a document compresses; default: no padding). */
  valueBytes?: number;
}

/** Text a padded value is made of: words, numbers and punctuation, as a JSON document's. */
const FILLER = Array.from({ length: 64 }, (_, i) => `"field${i % 17}": "value ${i * 7919 % 1000} lorem ipsum",`).join(
  " ",
);

/** `value`, padded with {@linkcode FILLER} to `bytes` (at least its own length). */
function padded(value: string, bytes: number | undefined): string {
  if (bytes === undefined || value.length >= bytes) return value;
  let out = `${value} `;
  while (out.length < bytes) out += FILLER;
  return out.slice(0, bytes);
}

/** Starts `clients` client loops against `urls`. */
export function startKvLoad(
  urls: string[],
  clients = ["a", "b", "c", "d"],
  timeoutMs = 3000,
  options: KvLoadOptions = {},
): KvLoad {
  const history: KvOperation[] = [];
  const trails = new Map<string, { acknowledged: Set<string>; unknown: Set<string> }>();
  let running = true;
  let acknowledgedPuts = 0;
  let unknownPuts = 0;
  let completed = 0;
  let retries = 0;
  const loop = async (clientId: string) => {
    const client = new KvHttpClient(urls, { timeoutMs });
    const trail = { acknowledged: new Set<string>(), unknown: new Set<string>() };
    trails.set(clientId, trail);
    for (let sequence = 0; running; sequence++) {
      if (sequence % 4 === 3) {
        try {
          await client.append(`trail-${clientId}`, `${sequence},`);
          trail.acknowledged.add(String(sequence));
          completed++;
        } catch (error) {
          if (!(error instanceof UnknownOutcome)) throw error;
          trail.unknown.add(String(sequence));
          completed++;
        }
        continue;
      }
      const key = LOAD_KEYS[sequence % LOAD_KEYS.length];
      const kind = sequence % 3 === 2 ? "get" : "put";
      const value = kind === "put" ? padded(`${clientId}:${sequence}`, options.valueBytes) : null;
      const op: KvOperation = { clientId, kind, key, value, callMs: performance.now(), returnMs: Infinity };
      try {
        if (kind === "put") {
          await client.put(key, value!);
          acknowledgedPuts++;
        } else op.value = await client.get(key);
        op.returnMs = performance.now();
        history.push(op);
        completed++;
      } catch (error) {
        if (kind === "put" && error instanceof UnknownOutcome) {
          unknownPuts++;
          completed++;
          history.push(op); // may have taken effect: it never returns
        } else if (kind === "put") throw error;
      }
    }
    retries += client.retries;
  };
  let failure: unknown;
  // A client that fails stops them all; the error waits for stop() (nobody may be listening before).
  const loops = clients.map((clientId) =>
    loop(clientId).catch((error) => {
      failure ??= error;
      running = false;
    })
  );
  return {
    history,
    get acknowledgedPuts() {
      return acknowledgedPuts;
    },
    get unknownPuts() {
      return unknownPuts;
    },
    get completed() {
      return completed;
    },
    get failure() {
      return failure;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      if (failure !== undefined) throw failure;
      return retries;
    },
    async check(readUrls) {
      const reader = new KvHttpClient(readUrls, { timeoutMs: 5000 });
      for (const key of LOAD_KEYS) {
        const callMs = performance.now();
        const value = await reader.get(key);
        history.push({ clientId: "final", kind: "get", key, value, callMs, returnMs: performance.now() });
      }
      for (const [clientId, trail] of trails) {
        const tokens = ((await reader.get(`trail-${clientId}`)) ?? "").split(",").filter(Boolean);
        const seen = new Set(tokens);
        assert.equal(seen.size, tokens.length, `client ${clientId}: an append applied twice: ${tokens}`);
        for (const token of trail.acknowledged) assert.ok(seen.has(token), `client ${clientId}: lost append ${token}`);
        for (const token of tokens) {
          assert.ok(trail.acknowledged.has(token) || trail.unknown.has(token), `client ${clientId}: stray ${token}`);
        }
        assert.deepEqual(tokens.map(Number), tokens.map(Number).sort((x, y) => x - y), `client ${clientId}: order`);
      }
      const verdict = checkLinearizable(history);
      assert.ok(
        verdict.ok,
        `not linearizable on ${!verdict.ok && verdict.key} (${acknowledgedPuts} acknowledged, ${unknownPuts} unknown)`,
      );
    },
  };
}
