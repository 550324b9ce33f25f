/**
 * Several independent transports over one: each **channel** (a number) is a
 * `Transport` of its own with the base transport's addresses, and one base
 * listener per address serves every channel listening there. A dialled
 * connection first sends a 5-byte hello (`0xC7` and the channel, `u32` big
 * endian); the listening side reads it and hands the connection to that
 * channel's listener, so the frames after it are the channel's alone.
 * A connection for a channel that does not listen yet waits up to
 * `pendingMs` for it (peers start a new epoch's engine a few milliseconds
 * apart, and the first to start should not be refused); connections that
 * do not start with a hello within `helloTimeoutMs`, or whose channel does
 * not listen in time, are closed.
 *
 * Anyone who can connect can send a hello, so waiting is bounded: at most
 * `maxPending` connections wait per address (a new one pushes out the one
 * that waited longest, so a flood cannot keep a peer's connection out for
 * long), a connection for a channel that listened here and closed is closed
 * at once (it is not coming back), and so is one for a channel that
 * `admitPending` does not expect.
 *
 * The adaptive consensus engine runs each epoch's engine on its own channel:
 * the epochs share the node's port, and their frames never mix.
 *
 * @example
 * ```ts ignore
 * import { TransportChannels } from "./channels.ts";
 * const channels = new TransportChannels(tcp, { clock });
 * const epoch3 = channels.channel(3);
 * const listener = await epoch3.listen("127.0.0.1:7001"); // shares the port with every other channel
 * const connection = await epoch3.dial("127.0.0.1:7002");
 * ```
 *
 * @module
 */
import type { Clock, TimerId } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { AsyncQueue } from "./async_queue.ts";

const HELLO_MARK = 0xc7;
const HELLO_BYTES = 5;

/** The largest channel number. */
export const MAX_CHANNEL = 0xffff_ffff;

/** Options of {@linkcode TransportChannels}. */
export interface TransportChannelsOptions {
  /** Times the hello. */
  clock: Clock;
  /** A connection that sends no hello this long after it was accepted is closed (default 5,000 ms). */
  helloTimeoutMs?: number;
  /** How long a connection waits for its channel to listen (default 2,000 ms). */
  pendingMs?: number;
  /**
   * Connections waiting for their channel at most, per address (default 256);
   * beyond, the one that waited longest is closed to make room.
   */
  maxPending?: number;
  /**
   * Whether a connection for `channel`, which does not listen yet, may wait
   * for it (default: any channel may). The adaptive engine admits only the
   * next few epochs.
   */
  admitPending?: (channel: number) => boolean;
}

/** Counters of a {@linkcode TransportChannels}. */
export interface TransportChannelsStats {
  /** Connections handed to a channel's listener. */
  routed: number;
  /**
   * Connections closed because their hello was missing, malformed or late,
   * their channel did not listen in time (or had closed, or was not
   * admitted), or a newer one needed their place in the wait.
   */
  refused: number;
}

/** Channels remembered per address as closed, at most (the oldest are forgotten first). */
const MAX_RETIRED = 4096;

interface Waiting {
  channel: number;
  connection: TransportConnection;
  timer: TimerId;
}

interface SharedListener {
  base: TransportListener;
  channels: Map<number, AsyncQueue<TransportConnection>>;
  /** Connections whose channel does not listen yet, with the timer that gives up on each, oldest first. */
  pending: Waiting[];
}

/** Channels over one base transport; see the module documentation. */
export class TransportChannels {
  readonly #base: Transport;
  readonly #options: Required<TransportChannelsOptions>;
  readonly #listeners = new Map<string, Promise<SharedListener>>();
  /** Per address, the channels that listened there and closed. */
  readonly #retired = new Map<string, Set<number>>();
  readonly #stats: TransportChannelsStats = { routed: 0, refused: 0 };

  /** Channels over `base`. */
  constructor(base: Transport, options: TransportChannelsOptions) {
    this.#base = base;
    this.#options = { helloTimeoutMs: 5_000, pendingMs: 2_000, maxPending: 256, admitPending: () => true, ...options };
  }

  /**
   * Closes every base listener these channels opened, with the connections
   * waiting for a hello or for their channel (the channels' own listeners
   * end). Call it after the engines on the channels closed.
   */
  async close(): Promise<void> {
    const listeners = [...this.#listeners.values()];
    this.#listeners.clear();
    for (const pending of listeners) {
      const shared = await pending.catch(() => undefined);
      if (!shared) continue;
      await this.#dropPending(shared);
      for (const queue of shared.channels.values()) queue.end();
      shared.channels.clear();
      await shared.base.close().catch(() => {});
    }
  }

  /** Connections routed and refused so far. */
  stats(): TransportChannelsStats {
    return { ...this.#stats };
  }

  /** The transport of channel `id` (0 to {@linkcode MAX_CHANNEL}). */
  channel(id: number): Transport {
    if (!Number.isInteger(id) || id < 0 || id > MAX_CHANNEL) {
      throw new SwitchyardError("INVALID_ARGUMENT", `channel must be an integer from 0 to ${MAX_CHANNEL}, got ${id}`);
    }
    return {
      name: this.#base.name,
      maxFrameBytes: this.#base.maxFrameBytes,
      listen: (address) => this.#listen(address, id),
      dial: (address) => this.#dial(address, id),
    };
  }

  async #dial(address: string, channel: number): Promise<TransportConnection> {
    const connection = await this.#base.dial(address);
    try {
      await connection.send(hello(channel));
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
    return withoutHello(connection, "sent");
  }

  async #listen(address: string, channel: number): Promise<TransportListener> {
    let pending = this.#listeners.get(address);
    if (!pending) {
      pending = this.#base.listen(address).then((base) => {
        const shared: SharedListener = { base, channels: new Map(), pending: [] };
        this.#accept(shared, address).catch(() => {});
        return shared;
      });
      this.#listeners.set(address, pending);
      pending.catch(() => this.#listeners.get(address) === pending && this.#listeners.delete(address));
    }
    const shared = await pending;
    if (shared.channels.has(channel)) {
      throw new SwitchyardError("INVALID_ARGUMENT", `channel ${channel} already listens on ${address}`);
    }
    const queue = new AsyncQueue<TransportConnection>();
    shared.channels.set(channel, queue);
    this.#retired.get(address)?.delete(channel);
    for (const waiting of shared.pending.filter((entry) => entry.channel === channel)) {
      this.#options.clock.clearTimeout(waiting.timer);
      this.#stats.routed++;
      queue.push(waiting.connection);
    }
    shared.pending = shared.pending.filter((entry) => entry.channel !== channel);
    let closed = false;
    return {
      address: shared.base.address,
      connections: () => queue,
      close: async () => {
        if (closed) return;
        closed = true;
        queue.end();
        shared.channels.delete(channel);
        this.#retire(address, channel);
        if (shared.channels.size === 0 && this.#listeners.get(address) === pending) {
          this.#listeners.delete(address);
          await this.#dropPending(shared);
          await shared.base.close();
        }
      },
    };
  }

  /** Remembers that `channel` listened on `address` and closed. */
  #retire(address: string, channel: number): void {
    let retired = this.#retired.get(address);
    if (!retired) this.#retired.set(address, retired = new Set());
    retired.add(channel);
    if (retired.size > MAX_RETIRED) retired.delete(retired.values().next().value!);
  }

  /** Closes every connection of `shared` still waiting for a hello or for its channel. */
  async #dropPending(shared: SharedListener): Promise<void> {
    const pending = shared.pending;
    shared.pending = [];
    for (const waiting of pending) {
      this.#options.clock.clearTimeout(waiting.timer);
      await waiting.connection.close().catch(() => {});
    }
  }

  async #accept(shared: SharedListener, address: string): Promise<void> {
    for await (const connection of shared.base.connections()) this.#route(shared, address, connection);
    for (const queue of shared.channels.values()) queue.end();
  }

  /** Reads the hello off a new connection and hands the rest of it to its channel. */
  async #route(shared: SharedListener, address: string, connection: TransportConnection): Promise<void> {
    const frames = connection.frames()[Symbol.asyncIterator]();
    let timer: TimerId | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = this.#options.clock.setTimeout(() => resolve(undefined), this.#options.helloTimeoutMs);
    });
    let first: IteratorResult<Uint8Array> | undefined;
    try {
      first = await Promise.race([frames.next(), late]);
    } catch {
      first = undefined;
    } finally {
      this.#options.clock.clearTimeout(timer!);
    }
    const channel = first && !first.done ? channelOf(first.value) : undefined;
    if (channel === undefined) return this.#refuse(connection);
    const routed = withoutHello(connection, "received", frames);
    const queue = shared.channels.get(channel);
    if (queue) {
      this.#stats.routed++;
      queue.push(routed);
      return;
    }
    if (this.#retired.get(address)?.has(channel) || !this.#options.admitPending(channel)) {
      return this.#refuse(connection);
    }
    if (shared.pending.length >= this.#options.maxPending) {
      const oldest = shared.pending.shift()!;
      this.#options.clock.clearTimeout(oldest.timer);
      void this.#refuse(oldest.connection);
    }
    const waiting: Waiting = {
      channel,
      connection: routed,
      timer: this.#options.clock.setTimeout(() => {
        const index = shared.pending.indexOf(waiting);
        if (index < 0) return;
        shared.pending.splice(index, 1);
        void this.#refuse(connection);
      }, this.#options.pendingMs),
    };
    shared.pending.push(waiting);
  }

  async #refuse(connection: TransportConnection): Promise<void> {
    this.#stats.refused++;
    await connection.close().catch(() => {});
  }
}

function hello(channel: number): Uint8Array {
  const bytes = new Uint8Array(HELLO_BYTES);
  bytes[0] = HELLO_MARK;
  new DataView(bytes.buffer).setUint32(1, channel);
  return bytes;
}

function channelOf(frame: Uint8Array): number | undefined {
  if (frame.byteLength !== HELLO_BYTES || frame[0] !== HELLO_MARK) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
}

/**
 * `connection` as its channel sees it: the hello left out of its counters
 * and, on the accepting side, its frames continuing after the hello.
 */
function withoutHello(
  connection: TransportConnection,
  hello: "sent" | "received",
  frames?: AsyncIterator<Uint8Array>,
): TransportConnection {
  return {
    get localAddress() {
      return connection.localAddress;
    },
    get remoteAddress() {
      return connection.remoteAddress;
    },
    get closed() {
      return connection.closed;
    },
    send: (frame) => connection.send(frame),
    frames: () => frames ? { [Symbol.asyncIterator]: () => frames } : connection.frames(),
    drain: () => connection.drain(),
    close: () => connection.close(),
    stats: () => {
      const stats = connection.stats();
      if (hello === "sent") {
        stats.framesSent = Math.max(0, stats.framesSent - 1);
        stats.bytesSent = Math.max(0, stats.bytesSent - HELLO_BYTES);
      } else {
        stats.framesReceived = Math.max(0, stats.framesReceived - 1);
        stats.bytesReceived = Math.max(0, stats.bytesReceived - HELLO_BYTES);
      }
      return stats;
    },
  };
}
