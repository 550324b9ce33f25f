/**
 * A transport connection over any byte stream: length-prefixed frames,
 * flow control both ways (sends wait on the socket; reading pauses while the
 * application has not consumed `highWaterBytes`), stats, graceful close, and
 * a typed error that closes the connection on a malformed frame.
 *
 * @module
 */
import { AsyncQueue } from "../../core/async_queue.ts";
import { SwitchyardError } from "../../core/errors.ts";
import { LengthPrefixDecoder, lengthPrefixed, oversizedSend } from "../../core/length_prefix.ts";
import { type ConnectionStats, emptyConnectionStats, type TransportConnection } from "../../core/transport.ts";
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
  readonly #stats: ConnectionStats = emptyConnectionStats();
  /** Resolves once the connection is closed. */
  readonly closed: Promise<void>;

  /** Wraps `socket`. */
  constructor(socket: ByteSocket, limits: StreamLimits) {
    this.#socket = socket;
    this.#limits = limits;
    this.#decoder = new LengthPrefixDecoder(limits.maxFrameBytes);
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#queue.onTake = (frame) => {
      this.#queuedBytes -= frame.length;
      if (this.#paused && this.#queuedBytes < this.#limits.highWaterBytes) {
        this.#paused = false;
        socket.resumeReading();
      }
    };
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
    try {
      for (const frame of this.#decoder.push(chunk)) {
        this.#stats.bytesReceived += frame.length;
        this.#stats.framesReceived++;
        this.#queuedBytes += frame.length;
        this.#queue.push(frame);
      }
    } catch (error) {
      this.#fail(error as SwitchyardError);
      return;
    }
    if (!this.#paused && this.#queuedBytes >= this.#limits.highWaterBytes) {
      this.#paused = true;
      this.#socket.pauseReading();
    }
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
      this.#queue.fail(decodeError);
    }
    this.#socket.destroy();
    this.#resolveClosed();
  }

  #fail(error: SwitchyardError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#queue.fail(error);
    this.#socket.destroy();
    this.#resolveClosed();
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
