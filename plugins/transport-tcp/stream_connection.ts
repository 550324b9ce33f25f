/**
 * A transport connection over any byte stream: length-prefixed frames,
 * flow control both ways (sends wait on the socket; reading pauses while the
 * application has not consumed `highWaterBytes`), stats, graceful close, and
 * a typed error that closes the connection on a malformed frame. Peers that
 * stall are closed too: one that sends nothing at all within
 * `firstByteTimeoutMs`, or stops in the middle of a frame for
 * `frameStallTimeoutMs` (`TRANSPORT_TIMEOUT`); a frame that does not fit the
 * shared partial-frame budget closes the connection before its bytes are kept
 * (`TRANSPORT_OVERLOADED`).
 *
 * @module
 */
import { AsyncQueue } from "../transport-kit/async_queue.ts";
import type { Clock, TimerId } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import {
  type FrameBudget,
  LengthPrefixDecoder,
  lengthPrefixed,
  oversizedSend,
} from "../transport-kit/length_prefix.ts";
import {
  type ConnectionStats,
  emptyConnectionStats,
  type TransportConnection,
} from "../../core/contracts/transport.ts";
import type { ByteSocket } from "./byte_socket.ts";

/** Frames sent while a write is under way, written together. */
interface Batch {
  parts: Uint8Array[];
  bytes: number;
  done: Promise<void>;
}

/** A batch stops growing at this size; the next send starts another. */
const BATCH_BYTES = 256 * 1024;
/** Frames from this size up are written without being copied next to their prefix. */
const LARGE_FRAME_BYTES = 64 * 1024;

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Limits of a stream connection. */
export interface StreamLimits {
  /** Largest frame. */
  maxFrameBytes: number;
  /** Reading pauses while this many received bytes wait for the application. */
  highWaterBytes: number;
  /**
   * A frame under way that receives no byte for this long closes the connection
   * (`TRANSPORT_TIMEOUT`). Time while reading is paused (the application is behind) does not count. 0: never.
   */
  frameStallTimeoutMs?: number;
  /** The connection closes (`TRANSPORT_TIMEOUT`) when the peer sent nothing at all this long after it opened. 0: never. */
  firstByteTimeoutMs?: number;
}

/** Why a stream connection closed itself on its peer. */
export type StreamFault =
  | "first-byte-timeout"
  | "frame-stall-timeout"
  | "frame-over-budget"
  | "frame-too-large"
  | "frame-invalid";

/** What a stream connection needs besides its limits. */
export interface StreamOptions {
  /** The clock the timeouts run on (required when a timeout is set). */
  clock?: Clock;
  /** Where unfinished frames take their memory from (none: only `maxFrameBytes` bounds it). */
  budget?: FrameBudget;
  /** Told once when the connection closes itself because of what the peer did (or did not) send. */
  onFault?: (fault: StreamFault, error: SwitchyardError) => void;
}

/** A framed connection over a {@linkcode ByteSocket}. */
export class StreamConnection implements TransportConnection {
  readonly #socket: ByteSocket;
  readonly #limits: StreamLimits;
  readonly #decoder: LengthPrefixDecoder;
  readonly #queue = new AsyncQueue<Uint8Array>();
  #queuedBytes = 0;
  #paused = false;
  #writing: Promise<void> = Promise.resolve();
  #batch: Batch | undefined;
  #closing = false;
  #ended = false;
  #failure: SwitchyardError | undefined;
  #resolveClosed!: () => void;
  readonly #options: StreamOptions;
  #heardFromPeer = false;
  #lastByteMs = 0;
  #firstByteTimer: TimerId | undefined;
  #stallTimer: TimerId | undefined;
  readonly #stats: ConnectionStats = emptyConnectionStats();
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;

  /** Wraps `socket`; throws `INVALID_ARGUMENT` when a timeout is set without a clock. */
  constructor(socket: ByteSocket, limits: StreamLimits, options: StreamOptions = {}) {
    if (!options.clock && ((limits.frameStallTimeoutMs ?? 0) > 0 || (limits.firstByteTimeoutMs ?? 0) > 0)) {
      throw new SwitchyardError("INVALID_ARGUMENT", "StreamConnection: a timeout needs options.clock");
    }
    this.#socket = socket;
    this.#limits = limits;
    this.#options = options;
    this.#decoder = new LengthPrefixDecoder(limits.maxFrameBytes, options.budget);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#queue.onTake = (frame) => {
      this.#queuedBytes -= frame.length;
      if (this.#paused && this.#queuedBytes < this.#limits.highWaterBytes) {
        this.#paused = false;
        // The peer could not send while we did not read: its stall clock starts over.
        this.#lastByteMs = this.#options.clock?.now() ?? 0;
        socket.resumeReading();
      }
    };
    const firstByteTimeoutMs = limits.firstByteTimeoutMs ?? 0;
    if (options.clock && firstByteTimeoutMs > 0) {
      this.#firstByteTimer = options.clock.setTimeout(() => {
        this.#firstByteTimer = undefined;
        this.#fault(
          "first-byte-timeout",
          new SwitchyardError(
            "TRANSPORT_TIMEOUT",
            `peer ${socket.remoteAddress} sent nothing within ${firstByteTimeoutMs} ms of connecting; connection closed`,
          ),
        );
      }, firstByteTimeoutMs);
    }
    socket.onData = (chunk) => this.#receive(chunk);
    socket.onEnd = (error) => this.#peerEnded(error);
    socket.start();
  }

  /** This end. */
  get localAddress(): string {
    return this.#socket.localAddress;
  }

  /** The peer. */
  get remoteAddress(): string {
    return this.#socket.remoteAddress;
  }

  /** Sends a frame; waits while the socket (and so the peer) is behind. */
  send(frame: Uint8Array): Promise<void> {
    try {
      this.#assertOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    if (!(frame instanceof Uint8Array)) {
      return Promise.reject(new SwitchyardError("INVALID_ARGUMENT", "send(frame): frame must be a Uint8Array"));
    }
    const oversized = oversizedSend(frame.length, this.#limits.maxFrameBytes);
    if (oversized) {
      this.#fail(oversized);
      return Promise.reject(oversized);
    }
    // Frames sent while a write is under way join one batch, written with a single socket write.
    let batch = this.#batch;
    if (!batch || batch.bytes >= BATCH_BYTES) {
      const fresh: Batch = { parts: [], bytes: 0, done: undefined as unknown as Promise<void> };
      fresh.done = this.#writing.then(() => this.#flush(fresh));
      this.#writing = fresh.done.catch(() => {});
      this.#batch = batch = fresh;
    }
    if (frame.length >= LARGE_FRAME_BYTES) {
      // A large frame goes out as its prefix and its own bytes: no copy of the frame.
      const prefix = new Uint8Array(4);
      new DataView(prefix.buffer).setUint32(0, frame.length, true);
      batch.parts.push(prefix, frame);
    } else {
      batch.parts.push(lengthPrefixed(frame));
    }
    batch.bytes += frame.length + 4;
    this.#stats.bufferedBytes += frame.length + 4;
    this.#stats.bytesSent += frame.length;
    this.#stats.framesSent++;
    return batch.done;
  }

  async #flush(batch: Batch): Promise<void> {
    if (this.#batch === batch) this.#batch = undefined;
    try {
      this.#assertOpen(true);
      // Small parts are joined into one write; large ones are written as they are.
      let small: Uint8Array[] = [];
      let smallBytes = 0;
      const flushSmall = async () => {
        if (small.length === 0) return;
        await this.#socket.write(small.length === 1 ? small[0] : concat(small, smallBytes));
        small = [];
        smallBytes = 0;
      };
      for (const part of batch.parts) {
        if (part.length >= LARGE_FRAME_BYTES) {
          await flushSmall();
          await this.#socket.write(part);
        } else {
          small.push(part);
          smallBytes += part.length;
        }
      }
      await flushSmall();
    } finally {
      this.#stats.bufferedBytes -= batch.bytes;
    }
  }

  /** The received frames. */
  frames(): AsyncIterable<Uint8Array> {
    return this.#queue;
  }

  /** Resolves when every frame sent so far was handed to the socket. */
  async drain(): Promise<void> {
    await this.#writing;
  }

  /** Flushes what was sent, then closes. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      await this.#writing;
      await this.#socket.close().catch(() => {});
      this.#teardown();
      this.#queue.end();
      this.#resolveClosed();
    }
    return this.closed;
  }

  /** Counters. */
  stats(): ConnectionStats {
    return { ...this.#stats };
  }

  #receive(chunk: Uint8Array): void {
    if (this.#failure) return;
    const clock = this.#options.clock;
    if (!this.#heardFromPeer) {
      this.#heardFromPeer = true;
      if (this.#firstByteTimer !== undefined) clock?.clearTimeout(this.#firstByteTimer);
      this.#firstByteTimer = undefined;
    }
    if (clock) this.#lastByteMs = clock.now();
    try {
      for (const frame of this.#decoder.push(chunk)) {
        this.#stats.bytesReceived += frame.length;
        this.#stats.framesReceived++;
        this.#queuedBytes += frame.length;
        this.#queue.push(frame);
      }
    } catch (error) {
      const failure = error as SwitchyardError;
      this.#fault(failure.code === "TRANSPORT_OVERLOADED" ? "frame-over-budget" : "frame-too-large", failure);
      return;
    }
    if (this.#decoder.partialBytes > 0) this.#watchStall();
    if (!this.#paused && this.#queuedBytes >= this.#limits.highWaterBytes) {
      this.#paused = true;
      this.#socket.pauseReading();
    }
  }

  /** Arms the stall timer for the frame under way, unless it is armed already. */
  #watchStall(): void {
    const clock = this.#options.clock;
    const timeoutMs = this.#limits.frameStallTimeoutMs ?? 0;
    if (!clock || timeoutMs <= 0 || this.#stallTimer !== undefined) return;
    const check = () => {
      this.#stallTimer = undefined;
      if (this.#failure || this.#ended || this.#decoder.partialBytes === 0) return;
      const quietMs = clock.now() - this.#lastByteMs;
      if (this.#paused || quietMs < timeoutMs) {
        // Paused: we are the ones not reading. Otherwise the peer sent something since: wait for the rest.
        this.#stallTimer = clock.setTimeout(check, this.#paused ? timeoutMs : timeoutMs - quietMs);
        return;
      }
      this.#fault(
        "frame-stall-timeout",
        new SwitchyardError(
          "TRANSPORT_TIMEOUT",
          `peer ${this.remoteAddress} sent nothing for ${quietMs} ms in the middle of a frame ` +
            `(${this.#decoder.partialBytes} bytes of it held); connection closed`,
        ),
      );
    };
    this.#stallTimer = clock.setTimeout(check, timeoutMs);
  }

  #peerEnded(error?: Error): void {
    if (this.#failure || this.#ended) return;
    this.#ended = true;
    if (error && !this.#closing) {
      this.#fail(new SwitchyardError("TRANSPORT_CLOSED", `connection lost: ${error.message}`));
      return;
    }
    try {
      this.#decoder.end();
      this.#queue.end();
    } catch (decodeError) {
      this.#options.onFault?.("frame-invalid", decodeError as SwitchyardError);
      this.#queue.fail(decodeError);
    }
    this.#teardown();
    this.#socket.destroy();
    this.#resolveClosed();
  }

  /** Closes the connection for what the peer did, and says so. */
  #fault(fault: StreamFault, error: SwitchyardError): void {
    if (this.#failure || this.#ended) return;
    this.#fail(error);
    this.#options.onFault?.(fault, error);
  }

  #fail(error: SwitchyardError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#teardown();
    this.#queue.fail(error);
    this.#socket.destroy();
    this.#resolveClosed();
  }

  /** Stops the timers and gives back the partial-frame budget. */
  #teardown(): void {
    const clock = this.#options.clock;
    if (this.#firstByteTimer !== undefined) clock?.clearTimeout(this.#firstByteTimer);
    if (this.#stallTimer !== undefined) clock?.clearTimeout(this.#stallTimer);
    this.#firstByteTimer = this.#stallTimer = undefined;
    this.#decoder.dispose();
  }

  #assertOpen(writing = false): void {
    if (this.#failure) throw this.#failure;
    if ((this.#closing && !writing) || this.#ended) {
      throw new SwitchyardError(
        "TRANSPORT_CLOSED",
        `connection ${this.localAddress} -> ${this.remoteAddress} is closed`,
      );
    }
  }
}
