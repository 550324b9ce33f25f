/**
 * One in-memory connection: two endpoints joined by two pipes. Frames cross
 * as length-prefixed bytes through the link model and are decoded on the
 * other side, so malformed input and oversized frames behave as on a socket.
 *
 * @module
 */
import { AsyncQueue } from "../transport-kit/async_queue.ts";
import type { Clock, TimerId } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import {
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
  lengthPrefixed,
  oversizedSend,
} from "../transport-kit/length_prefix.ts";
import {
  type ConnectionStats,
  emptyConnectionStats,
  type TransportConnection,
} from "../../core/contracts/transport.ts";
import type { LinkSchedule } from "./link.ts";

/** Limits of a connection. */
export interface PipeLimits {
  /** Largest frame. */
  maxFrameBytes: number;
  /** `send` waits while this many bytes are accepted but not yet read by the peer. */
  highWaterBytes: number;
}

const END = Symbol("end");

/** One direction: accepts bytes from one endpoint, delivers them to the other on the link's schedule. */
class Pipe {
  bufferedBytes = 0;
  inFlight = 0;
  #waiters: (() => void)[] = [];
  #drainers: (() => void)[] = [];
  /** Deliveries not yet due, in order; one timer waits for the head, so order never hangs on timer precision. */
  #pending: { dueMs: number; chunk: Uint8Array | typeof END }[] = [];
  #timer: TimerId | undefined;

  constructor(
    readonly clock: Clock,
    readonly link: LinkSchedule,
    readonly limits: PipeLimits,
    readonly deliver: (chunk: Uint8Array | typeof END) => void,
  ) {}

  /** Waits until the buffer has room. */
  async room(): Promise<void> {
    while (this.bufferedBytes >= this.limits.highWaterBytes) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Puts bytes (or the end marker) on the link. */
  carry(chunk: Uint8Array | typeof END): void {
    this.inFlight++;
    if (this.link.instant && this.#pending.length === 0) {
      queueMicrotask(() => this.#arrive(chunk));
      return;
    }
    const nowMs = this.clock.now();
    this.#pending.push({ dueMs: this.link.arrival(nowMs, chunk === END ? 0 : chunk.length), chunk });
    if (this.#timer === undefined) this.#wait();
  }

  /** Waits for the head of the queue; delivers everything due, in order, then waits again. */
  #wait(): void {
    const head = this.#pending[0];
    if (!head) return;
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined;
      const nowMs = this.clock.now();
      while (this.#pending.length > 0 && this.#pending[0].dueMs <= nowMs) this.#arrive(this.#pending.shift()!.chunk);
      this.#wait();
    }, Math.max(0, head.dueMs - this.clock.now()));
  }

  #arrive(chunk: Uint8Array | typeof END): void {
    this.inFlight--;
    this.deliver(chunk);
    if (this.inFlight === 0) { for (const resolve of this.#drainers.splice(0)) resolve(); }
  }

  /** The peer took `bytes` off its queue. */
  released(bytes: number): void {
    this.bufferedBytes -= bytes;
    if (this.bufferedBytes < this.limits.highWaterBytes) { for (const wake of this.#waiters.splice(0)) wake(); }
  }

  /** Resolves when nothing is in flight. */
  drained(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.#drainers.push(resolve));
  }

  /** Wakes blocked senders (they will see the connection closed). */
  abort(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** One end of an in-memory connection. */
export class MemoryEndpoint implements TransportConnection {
  readonly #queue = new AsyncQueue<Uint8Array>();
  readonly #decoder: LengthPrefixDecoder;
  #outgoing!: Pipe;
  #peer!: MemoryEndpoint;
  #closing = false;
  #peerEnded = false;
  #failure: SwitchyardError | undefined;
  #resolveClosed!: () => void;
  readonly #stats: ConnectionStats = emptyConnectionStats();
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;

  /** Creates an endpoint; {@linkcode connectEndpoints} joins two. */
  constructor(readonly localAddress: string, readonly remoteAddress: string, readonly limits: PipeLimits) {
    this.#decoder = new LengthPrefixDecoder(limits.maxFrameBytes);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#queue.onTake = (frame) => this.#peer.#outgoing.released(frame.length + LENGTH_PREFIX_BYTES);
  }

  /** Joins this endpoint to `peer` over `outgoing`. */
  attach(peer: MemoryEndpoint, outgoing: Pipe): void {
    this.#peer = peer;
    this.#outgoing = outgoing;
  }

  /** Sends a frame, waiting while the peer's unread bytes are at the high-water mark. */
  async send(frame: Uint8Array): Promise<void> {
    this.#assertOpen();
    if (!(frame instanceof Uint8Array)) {
      throw new SwitchyardError("INVALID_ARGUMENT", "send(frame): frame must be a Uint8Array");
    }
    const error = oversizedSend(frame.length, this.limits.maxFrameBytes);
    if (error) {
      this.#fail(error);
      throw error;
    }
    await this.#outgoing.room();
    this.#assertOpen();
    this.#outgoing.bufferedBytes += frame.length + LENGTH_PREFIX_BYTES;
    this.#stats.bytesSent += frame.length;
    this.#stats.framesSent++;
    this.#outgoing.carry(lengthPrefixed(frame));
  }

  /**
   * Puts raw bytes on the wire, unframed: how tests and diagnostics feed a
   * peer malformed input. Not part of the transport contract.
   */
  writeRaw(bytes: Uint8Array): void {
    this.#assertOpen();
    this.#outgoing.carry(bytes.slice());
  }

  /** The received frames. */
  frames(): AsyncIterable<Uint8Array> {
    return this.#queue;
  }

  /** Resolves when every frame sent so far has reached the peer. */
  drain(): Promise<void> {
    return this.#outgoing.drained();
  }

  /** Closes gracefully. */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#outgoing.carry(END);
      this.#queue.end();
      this.#outgoing.drained().then(this.#resolveClosed);
    }
    return this.closed;
  }

  /** Counters. */
  stats(): ConnectionStats {
    return { ...this.#stats, bufferedBytes: this.#outgoing.bufferedBytes };
  }

  /** Receives bytes or the end marker from the peer. */
  receive(chunk: Uint8Array | typeof END): void {
    if (this.#failure) return;
    try {
      if (chunk === END) {
        this.#decoder.end();
        this.#peerEnded = true;
        this.#queue.end();
        this.#outgoing.abort();
        this.#settle();
        return;
      }
      for (const frame of this.#decoder.push(chunk)) {
        this.#stats.bytesReceived += frame.length;
        this.#stats.framesReceived++;
        this.#queue.push(frame);
      }
    } catch (error) {
      this.#fail(error as SwitchyardError);
      this.#peer.#fail(
        new SwitchyardError("TRANSPORT_CLOSED", `peer closed the connection: ${(error as Error).message}`),
      );
    }
  }

  #fail(error: SwitchyardError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#closing = true;
    this.#peerEnded = true;
    this.#queue.fail(error);
    this.#outgoing.abort();
    this.#settle();
  }

  #assertOpen(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closing || this.#peerEnded) {
      throw new SwitchyardError(
        "TRANSPORT_CLOSED",
        `connection ${this.localAddress} -> ${this.remoteAddress} is closed`,
      );
    }
  }

  /** The peer ended or the connection failed: nothing more can cross it. */
  #settle(): void {
    if (this.#peerEnded || this.#failure) this.#resolveClosed();
  }
}

/** Makes a connected pair over two link directions. */
export function connectEndpoints(
  clock: Clock,
  dialer: { address: string; link: LinkSchedule },
  listener: { address: string; link: LinkSchedule },
  limits: PipeLimits,
): [MemoryEndpoint, MemoryEndpoint] {
  const a = new MemoryEndpoint(dialer.address, listener.address, limits);
  const b = new MemoryEndpoint(listener.address, dialer.address, limits);
  a.attach(b, new Pipe(clock, dialer.link, limits, (chunk) => b.receive(chunk)));
  b.attach(a, new Pipe(clock, listener.link, limits, (chunk) => a.receive(chunk)));
  return [a, b];
}
