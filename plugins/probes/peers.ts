/**
 * Per-peer links for probes (dialed lazily, dropped when broken), and
 * how per-peer values become one cluster sample: the value a quorum sees,
 * not the best link's.
 *
 * @module
 */
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";
import type { Clock } from "../../core/util/clock.ts";
import { toError } from "../../core/util/errors.ts";
import { runWithTimeout } from "../../core/util/timeout.ts";

/** One probe connection: sends requests, and one background reader hands each reply to whoever waits for it. */
export class PeerLink {
  readonly #waiters = new Map<string, (reply: Uint8Array) => void>();

  /** Starts reading `connection`; `keyOf` names each reply (e.g. `pong:7`). */
  constructor(readonly connection: TransportConnection, keyOf: (reply: Uint8Array) => string) {
    (async () => {
      try {
        for await (const reply of connection.frames()) {
          const key = keyOf(reply);
          const waiter = this.#waiters.get(key);
          this.#waiters.delete(key);
          waiter?.(reply);
        }
      } catch { /* the connection failed; waiters time out */ }
    })();
  }

  /** Sends `request` and resolves with the reply named `key`. */
  async request(request: Uint8Array | Uint8Array[], key: string): Promise<Uint8Array> {
    const reply = new Promise<Uint8Array>((resolve) => this.#waiters.set(key, resolve));
    for (const message of Array.isArray(request) ? request : [request]) await this.connection.send(message);
    return await reply;
  }

  /** Stops waiting for `key` (after a timeout). */
  forget(key: string): void {
    this.#waiters.delete(key);
  }
}

/** Keeps one probe link per peer, dialed lazily and dropped when closed. */
export class PeerLinks {
  readonly #transport: Transport;
  readonly #keyOf: (reply: Uint8Array) => string;
  readonly #open = new Map<string, Promise<PeerLink>>();
  /** Dials not settled yet: close() does not wait for them (one may never settle), it closes them when they do. */
  readonly #dialing = new Set<Promise<PeerLink>>();

  /** Dials peers with `transport`. */
  constructor(transport: Transport, keyOf: (reply: Uint8Array) => string) {
    this.#transport = transport;
    this.#keyOf = keyOf;
  }

  /** The link to `peer`, dialing it if needed. */
  get(peer: string): Promise<PeerLink> {
    let link = this.#open.get(peer);
    if (!link) {
      link = this.#transport.dial(peer).then((connection) => {
        connection.closed.then(() => this.#open.delete(peer));
        return new PeerLink(connection, this.#keyOf);
      });
      link.catch(() => this.#open.delete(peer));
      const dial = link;
      this.#dialing.add(dial);
      dial.then(() => this.#dialing.delete(dial), () => this.#dialing.delete(dial));
      this.#open.set(peer, link);
    }
    return link;
  }

  /**
   * The link to `peer`, or why it cannot be had within `timeoutMs` (a peer
   * whose connection attempts go unanswered would otherwise hold a round for
   * the system's connect timeout): an unreachable peer, left out of the
   * sample.
   */
  async reach(
    peer: string,
    clock: Clock,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<PeerLink | { unreachable: true; error: string }> {
    try {
      const outcome = await runWithTimeout(clock, timeoutMs, () => this.get(peer), signal);
      if (!outcome.timedOut) return outcome.value;
      return { unreachable: true, error: `no connection to ${peer} within ${timeoutMs} ms` };
    } catch (error) {
      return { unreachable: true, error: toError(error).message };
    }
  }

  /** Closes every link. */
  async close(): Promise<void> {
    const links = [...this.#open.values()];
    this.#open.clear();
    const closing = links.map((link) => link.then((l) => l.connection.close(), () => {}));
    await Promise.all(closing.filter((_, i) => !this.#dialing.has(links[i])));
  }
}

/**
 * How many peers, besides this node, make a majority of the cluster: with
 * `peers` others, a quorum is ⌊(peers + 1) / 2⌋ + 1 nodes, this one included.
 */
export function peersForQuorum(peers: number): number {
  return Math.floor((peers + 1) / 2);
}

/**
 * The value a quorum sees: sorted from best to worst, the one at the quorum's
 * edge. With 4 peers (5 nodes) that is the second best peer, not the best.
 */
export function quorumValue(values: number[], better: "lower" | "higher"): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => better === "lower" ? a - b : b - a);
  return sorted[Math.max(0, peersForQuorum(values.length) - 1)];
}
