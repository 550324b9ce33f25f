/**
 * An HTTP client of the key-value cluster: sends each request to the node
 * it believes leads, follows `421` answers to the leader, and tries the next
 * node when one is down. A put whose outcome is unknown (timeout, broken
 * connection, 504) throws {@linkcode UnknownOutcome}: it may or may not
 * have committed, and it is never retried blindly.
 *
 * @module
 */

/** A put may or may not have committed. */
export class UnknownOutcome extends Error {
  /** Wraps the cause. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UnknownOutcome";
  }
}

/**
 * The client.
 *
 * @example
 * ```ts ignore
 * const client = new KvHttpClient(["http://127.0.0.1:8001", "http://127.0.0.1:8002"]);
 * await client.put("color", "green");
 * await client.get("color"); // "green"
 * ```
 */
export class KvHttpClient {
  readonly #urls: string[];
  #leader: string;
  readonly #timeoutMs: number;

  /** A client of the nodes at `urls`. */
  constructor(urls: string[], options: { timeoutMs?: number } = {}) {
    this.#urls = urls;
    this.#leader = urls[0];
    this.#timeoutMs = options.timeoutMs ?? 3000;
  }

  /** Writes `value` under `key`; resolves once committed. */
  async put(key: string, value: string): Promise<void> {
    await this.#request("PUT", key, value);
  }

  /** Reads `key` linearizably. */
  async get(key: string): Promise<string | null> {
    return (await this.#request("GET", key) as { value: string | null }).value;
  }

  async #request(method: "GET" | "PUT", key: string, body?: string): Promise<unknown> {
    const deadline = Date.now() + this.#timeoutMs;
    let attempt = 0;
    while (Date.now() < deadline) {
      const url = this.#leader;
      let response: Response;
      try {
        response = await fetch(`${url}/kv/${encodeURIComponent(key)}`, {
          method,
          body,
          signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
        });
      } catch (error) {
        if (method === "PUT") throw new UnknownOutcome(`${method} ${key} at ${url}: ${error}`, { cause: error });
        this.#leader = this.#urls[(this.#urls.indexOf(url) + 1) % this.#urls.length];
        await pause(++attempt);
        continue;
      }
      const payload = await response.json();
      if (response.ok) return payload;
      if (response.status === 421) {
        this.#leader = payload.leaderUrl ?? this.#urls[(this.#urls.indexOf(url) + 1) % this.#urls.length];
      } else if (response.status === 504 && method === "PUT") {
        throw new UnknownOutcome(`${method} ${key}: ${payload.error?.message}`);
      } else if (response.status !== 503) {
        throw new Error(`${method} ${key}: ${response.status} ${JSON.stringify(payload)}`);
      }
      await pause(++attempt);
    }
    if (method === "PUT") throw new UnknownOutcome(`${method} ${key}: no answer within ${this.#timeoutMs} ms`);
    throw new Error(`${method} ${key}: no answer within ${this.#timeoutMs} ms`);
  }
}

function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * attempt)));
}
