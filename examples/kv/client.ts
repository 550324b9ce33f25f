/**
 * An HTTP client of the key-value cluster: sends each request to the node
 * it believes leads, follows `421` answers to the leader, and tries the next
 * node when one is down.
 *
 * Every write carries the client's identity: a client id (random per
 * client instance) and a sequence number per operation. A retry of the same
 * operation (after a 503, a 421 redirect, a 504, a timeout or a broken
 * connection) reuses the sequence, so the cluster executes it at most once
 * and answers a retry of an executed write with the original result. A
 * write still unanswered at the deadline throws {@linkcode UnknownOutcome}:
 * it may or may not have executed (once at most), and the next write moves
 * on to the next sequence, after which the abandoned one can no longer
 * execute.
 *
 * @module
 */
import { type Clock, sleep, SystemClock } from "@switchyard/hybrid";
import { CLIENT_ID_HEADER, CLIENT_SEQUENCE_HEADER } from "@switchyard/hybrid/kv";

/** A write may or may not have executed (at most once). */
export class UnknownOutcome extends Error {
  /** Wraps the cause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnknownOutcome";
  }
}

/** What a write answers. */
export interface KvWriteResult {
  /** Log index where it executed. */
  index: number;
  /** The key's value before it. */
  previous: string | null;
  /** True when a retry found it already executed (then `index` and `previous` are the original ones). */
  duplicate: boolean;
}

/** How a {@linkcode KvHttpClient} behaves. */
export interface KvHttpClientOptions {
  /** Give up on an operation after this long, retries included (default 3,000 ms). */
  timeoutMs?: number;
  /** The client id to start with (default: a random UUID). */
  clientId?: string;
  /** Time source for deadlines and pauses (default: the system clock). */
  clock?: Clock;
  /** The fetch function (default: the global `fetch`); tests route it in process or inject faults. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
}

/**
 * The client. One operation at a time per instance (the identity allows one
 * command in flight per client id); use one instance per concurrent caller.
 *
 * @example
 * ```ts ignore
 * const client = new KvHttpClient(["http://127.0.0.1:8001", "http://127.0.0.1:8002"]);
 * await client.put("color", "green");
 * await client.append("log", "a,"); // executes once, however often it is retried
 * await client.get("color"); // "green"
 * ```
 */
export class KvHttpClient {
  readonly #urls: string[];
  #leader: string;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #fetch: NonNullable<KvHttpClientOptions["fetch"]>;
  #clientId: string;
  #sequence = 0;
  #retries = 0;

  /** A client of the nodes at `urls`. */
  constructor(urls: string[], options: KvHttpClientOptions = {}) {
    this.#urls = urls;
    this.#leader = urls[0];
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#clock = options.clock ?? new SystemClock();
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#clientId = options.clientId ?? crypto.randomUUID();
  }

  /** Write attempts repeated after an attempt whose outcome was unknown (a 503, 504, timeout or broken connection). */
  get retries(): number {
    return this.#retries;
  }

  /** The client id writes are sent with now (a new one after the cluster forgot this client). */
  get clientId(): string {
    return this.#clientId;
  }

  /** Writes `value` under `key`; resolves once committed. */
  put(key: string, value: string): Promise<KvWriteResult> {
    return this.#write("PUT", key, value);
  }

  /** Appends `suffix` to the value of `key` (an absent key counts as empty); resolves once committed. */
  append(key: string, suffix: string): Promise<KvWriteResult> {
    return this.#write("POST", key, suffix);
  }

  /** Reads `key` linearizably. */
  async get(key: string): Promise<string | null> {
    const deadline = this.#clock.now() + this.#timeoutMs;
    for (let attempt = 1; this.#clock.now() < deadline; attempt++) {
      const answer = await this.#send("GET", key, undefined, undefined, deadline);
      if (answer.kind === "ok") return (answer.payload as { value: string | null }).value;
      if (answer.kind === "failed") throw new Error(`GET ${key}: ${answer.message}`);
      await sleep(this.#clock, pauseMs(attempt));
    }
    throw new Error(`GET ${key}: no answer within ${this.#timeoutMs} ms`);
  }

  async #write(method: "PUT" | "POST", key: string, body: string): Promise<KvWriteResult> {
    const deadline = this.#clock.now() + this.#timeoutMs;
    let identity = { clientId: this.#clientId, sequence: ++this.#sequence };
    let maybeExecuted = false;
    let last = "no attempt finished";
    for (let attempt = 1; this.#clock.now() < deadline; attempt++) {
      const answer = await this.#send(method, key, body, identity, deadline);
      if (answer.kind === "ok") {
        const { index, previous, duplicate } = answer.payload as KvWriteResult;
        return { index, previous, duplicate: duplicate === true };
      }
      if (answer.kind === "failed") {
        if (answer.code === "UNKNOWN_CLIENT" && !maybeExecuted) {
          // Forgotten by the cluster and this write never ran: start over as a new client, at sequence 1.
          this.#clientId = crypto.randomUUID();
          this.#sequence = 1;
          identity = { clientId: this.#clientId, sequence: 1 };
          continue;
        }
        if (answer.code === "UNKNOWN_CLIENT") {
          throw new UnknownOutcome(`${method} ${key}: the cluster forgot this client while it retried`);
        }
        throw new Error(`${method} ${key}: ${answer.message}`);
      }
      if (answer.maybeExecuted) {
        maybeExecuted = true;
        this.#retries++;
      }
      last = answer.message;
      await sleep(this.#clock, pauseMs(attempt));
    }
    throw new UnknownOutcome(`${method} ${key}: no answer within ${this.#timeoutMs} ms (last: ${last})`);
  }

  /** One attempt; moves `#leader` when the answer says where to go. */
  async #send(
    method: string,
    key: string,
    body: string | undefined,
    identity: { clientId: string; sequence: number } | undefined,
    deadline: number,
  ): Promise<
    | { kind: "ok"; payload: unknown }
    | { kind: "retry"; maybeExecuted: boolean; message: string }
    | { kind: "failed"; code: string | undefined; message: string }
  > {
    const url = this.#leader;
    const next = () => this.#urls[(this.#urls.indexOf(url) + 1) % this.#urls.length];
    const headers: Record<string, string> = identity
      ? { [CLIENT_ID_HEADER]: identity.clientId, [CLIENT_SEQUENCE_HEADER]: String(identity.sequence) }
      : {};
    const abort = new AbortController();
    const timer = this.#clock.setTimeout(() => abort.abort(new Error("timed out")), deadline - this.#clock.now());
    let status: number;
    let payload: { error?: { code?: string; message?: string }; leaderUrl?: string | null };
    try {
      const response = await this.#fetch(`${url}/kv/${encodeURIComponent(key)}`, {
        method,
        body,
        headers,
        signal: abort.signal,
      });
      status = response.status;
      payload = await response.json();
    } catch (error) {
      this.#leader = next(); // down, reset, or too slow: try another node
      return { kind: "retry", maybeExecuted: true, message: `${url}: ${error}` };
    } finally {
      this.#clock.clearTimeout(timer);
    }
    if (status >= 200 && status < 300) return { kind: "ok", payload };
    const code = payload.error?.code;
    const message = `${status} ${code}: ${payload.error?.message}`;
    if (status === 421) {
      this.#leader = payload.leaderUrl ?? next();
      return { kind: "retry", maybeExecuted: false, message };
    }
    if (status === 503) {
      if (code === "CONSENSUS_CLOSED") this.#leader = next(); // shutting down; it may have been proposed
      return { kind: "retry", maybeExecuted: code !== "PROPOSAL_DROPPED", message };
    }
    if (status === 504) return { kind: "retry", maybeExecuted: true, message };
    return { kind: "failed", code, message };
  }
}

function pauseMs(attempt: number): number {
  return Math.min(100, 5 * attempt);
}
