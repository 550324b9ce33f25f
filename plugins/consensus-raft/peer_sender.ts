/**
 * Outgoing connections to peers: dialled on first use, re-dialled after a
 * failure (with backoff), one frame per batch of messages, order kept per
 * peer, each frame sealed (authenticated) just before it is sent. Raft tolerates loss, so when a peer is unreachable or too slow the
 * batch is dropped (and counted) instead of piling up in memory.
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";
import type { NodeId } from "../../core/contracts/consensus.ts";
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";

/** Batches waiting for one peer at most; beyond, new batches are dropped. */
const MAX_QUEUED_BATCHES = 1024;
/** Wait this long after a failed dial before dialling that peer again. */
const REDIAL_BACKOFF_MS = 50;

interface Link {
  connection: Promise<TransportConnection> | undefined;
  queued: number;
  tail: Promise<void>;
  failedAtMs: number;
  /** Settles once the frame being sealed now (if any) is handed to its connection. */
  sealing: Promise<void> | undefined;
}

/** Turns a frame for `to` into what goes on the wire (e.g. `PeerAuthenticator.seal`). */
export type Seal = (to: NodeId, frame: Uint8Array) => Promise<Uint8Array>;

/** Sends frames to peers by id. */
export class PeerSender {
  /** Batches dropped (peer unreachable, down, or too slow). */
  dropped = 0;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #address: (id: NodeId) => string | undefined;
  readonly #seal: Seal | undefined;
  readonly #links = new Map<NodeId, Link>();
  #closed = false;

  /**
   * Sends over `transport`, looking up addresses with `address`; `seal`, if
   * given, runs on each frame in send order, once its connection is up, so
   * frames are numbered and stamped in the order and at the time they leave.
   */
  constructor(transport: Transport, clock: Clock, address: (id: NodeId) => string | undefined, seal?: Seal) {
    this.#transport = transport;
    this.#clock = clock;
    this.#address = address;
    this.#seal = seal;
  }

  /** Queues one frame for `to`; never throws, never waits. */
  send(to: NodeId, frame: Uint8Array): void {
    if (this.#closed) return;
    const address = this.#address(to);
    let link = this.#links.get(to);
    if (!link) {
      link = { connection: undefined, queued: 0, tail: Promise.resolve(), failedAtMs: -Infinity, sealing: undefined };
      this.#links.set(to, link);
    }
    if (!address || link.queued >= MAX_QUEUED_BATCHES) {
      this.dropped++;
      return;
    }
    if (!link.connection) {
      if (this.#clock.now() - link.failedAtMs < REDIAL_BACKOFF_MS) {
        this.dropped++;
        return;
      }
      const connection = this.#transport.dial(address);
      link.connection = connection;
      connection.then(
        (open) => open.closed.finally(() => this.#reset(link!, connection)),
        () => this.#reset(link!, connection),
      );
    }
    const connection = link.connection;
    link.queued++;
    link.tail = link.tail.then(async () => {
      try {
        const open = await connection;
        let sent: Promise<void>;
        if (this.#seal) {
          let handed!: () => void;
          const sealing = link!.sealing = new Promise<void>((resolve) => handed = resolve);
          try {
            sent = open.send(await this.#seal(to, frame));
          } finally {
            if (link!.sealing === sealing) link!.sealing = undefined;
            handed();
          }
        } else sent = open.send(frame);
        await sent;
      } catch {
        this.dropped++;
        this.#reset(link!, connection);
      } finally {
        link!.queued--;
      }
    });
  }

  #reset(link: Link, connection: Promise<TransportConnection>): void {
    if (link.connection !== connection) return;
    link.connection = undefined;
    link.failedAtMs = this.#clock.now();
  }

  /** Waits until the frames being sealed right now are handed to their connections. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#links.values()].map((link) => link.sealing));
  }

  /** Closes every connection, after the frames being sealed right now are handed to them. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    const links = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(links.map(async (link) => {
      const connection = await link.connection?.catch(() => undefined);
      await connection?.close().catch(() => {});
    }));
  }
}
