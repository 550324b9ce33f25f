/**
 * Length-prefixed framing for byte streams: each frame is a u32
 * (little-endian) length followed by that many bytes. The decoder rejects a
 * length past the limit as soon as it reads it, before buffering anything,
 * and, given a {@linkcode FrameBudget}, takes a frame's length from it before
 * it buffers the frame's bytes, so the memory many connections hold in
 * unfinished frames stays bounded.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";

/** Bytes of the length prefix. */
export const LENGTH_PREFIX_BYTES = 4;

/** `frame` with its length prefix. */
export function lengthPrefixed(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length, true);
  out.set(frame, LENGTH_PREFIX_BYTES);
  return out;
}

/**
 * The error for sending a frame past the limit (`FRAME_TOO_LARGE`), or
 * undefined when it fits. A connection that refuses such a frame closes.
 */
export function oversizedSend(length: number, maxFrameBytes: number): SwitchyardError | undefined {
  if (length <= maxFrameBytes) return undefined;
  return new SwitchyardError(
    "FRAME_TOO_LARGE",
    `frame of ${length} bytes exceeds the ${maxFrameBytes}-byte limit; connection closed`,
  );
}

/**
 * Bytes that unfinished frames may hold, shared by the decoders that draw on
 * it (e.g. every connection of one listener).
 */
export interface FrameBudget {
  /** Takes `bytes` for one unfinished frame; returns false, taking nothing, when fewer are left. */
  reserve(bytes: number): boolean;
  /** Gives back bytes that `reserve` took. */
  release(bytes: number): void;
}

/**
 * A {@linkcode FrameBudget} of `limitBytes`, with what is taken and the most
 * ever taken at once.
 *
 * @example
 * ```ts
 * import { FrameBudgetPool } from "./length_prefix.ts";
 * const pool = new FrameBudgetPool(1024);
 * pool.reserve(1000); // true
 * pool.reserve(100); // false: 24 bytes left
 * pool.release(1000);
 * ```
 */
export class FrameBudgetPool implements FrameBudget {
  /** The budget. */
  readonly limitBytes: number;
  #reservedBytes = 0;
  #peakReservedBytes = 0;

  /** Creates a budget of `limitBytes`. */
  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Bytes taken now. */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /** The most bytes taken at once. */
  get peakReservedBytes(): number {
    return this.#peakReservedBytes;
  }

  /** Takes `bytes` when that many are left. */
  reserve(bytes: number): boolean {
    if (this.#reservedBytes + bytes > this.limitBytes) return false;
    this.#reservedBytes += bytes;
    this.#peakReservedBytes = Math.max(this.#peakReservedBytes, this.#reservedBytes);
    return true;
  }

  /** Gives back `bytes`. */
  release(bytes: number): void {
    this.#reservedBytes = Math.max(0, this.#reservedBytes - bytes);
  }
}

/**
 * Turns stream chunks back into frames.
 *
 * A frame that arrives whole in one chunk is handed out as a view of it. A
 * frame that spans chunks is copied, as it arrives, into one buffer of its
 * length; with a budget, that length is reserved first (and given back when
 * the frame is complete or the decoder is disposed), and a length that does
 * not fit is refused with `TRANSPORT_OVERLOADED` before any of its bytes are
 * kept.
 *
 * @example
 * ```ts
 * import { LengthPrefixDecoder, lengthPrefixed } from "./length_prefix.ts";
 * const decoder = new LengthPrefixDecoder(1024);
 * const wire = lengthPrefixed(new Uint8Array([1, 2, 3]));
 * decoder.push(wire.subarray(0, 2)); // []
 * decoder.push(wire.subarray(2)); // [Uint8Array [1, 2, 3]]
 * ```
 */
export class LengthPrefixDecoder {
  readonly #maxFrameBytes: number;
  readonly #budget: FrameBudget | undefined;
  /** Bytes not yet parsed: part of a prefix, or what follows a finished frame. */
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  /** The length of the frame being received, once its prefix is read. */
  #expected: number | undefined;
  /** The frame being received, when it spans chunks, and how much of it has arrived. */
  #frame: Uint8Array | undefined;
  #filled = 0;
  /** Bytes reserved from the budget for the frame being received. */
  #reserved = 0;

  /**
   * Creates a decoder refusing frames longer than `maxFrameBytes`; with
   * `budget`, a frame that spans chunks must fit in it.
   */
  constructor(maxFrameBytes: number, budget?: FrameBudget) {
    this.#maxFrameBytes = maxFrameBytes;
    this.#budget = budget;
  }

  /** Bytes held for the unfinished frame (its prefix and what arrived of it); 0 between frames. */
  get partialBytes(): number {
    return this.#buffered + this.#filled;
  }

  /** Bytes this decoder holds reserved from its budget now. */
  get reservedBytes(): number {
    return this.#reserved;
  }

  /**
   * Adds a chunk; returns the frames it completes (views into the chunk where
   * possible, so the chunk must not be reused by the caller). Throws
   * `FRAME_TOO_LARGE` for an oversized length and `TRANSPORT_OVERLOADED` for
   * a frame the budget cannot take.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let rest = chunk;
    if (this.#frame) {
      // The frame under way takes what it still needs straight from the chunk.
      const used = Math.min(rest.length, this.#frame.length - this.#filled);
      this.#frame.set(rest.subarray(0, used), this.#filled);
      this.#filled += used;
      rest = rest.subarray(used);
      if (this.#filled < this.#frame.length) return frames;
      frames.push(this.#frame);
      this.#finishFrame();
    }
    if (rest.length > 0) {
      this.#chunks.push(rest);
      this.#buffered += rest.length;
    }
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#buffered < LENGTH_PREFIX_BYTES) break;
        const prefix = this.#take(LENGTH_PREFIX_BYTES);
        const length = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true);
        if (length > this.#maxFrameBytes) {
          this.dispose();
          throw new SwitchyardError(
            "FRAME_TOO_LARGE",
            `peer sent a frame of ${length} bytes, more than the ${this.#maxFrameBytes}-byte limit`,
          );
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) {
        this.#startFrame(this.#expected);
        break;
      }
      frames.push(this.#take(this.#expected));
      this.#expected = undefined;
    }
    return frames;
  }

  /** Throws `FRAME_INVALID` when the stream ended in the middle of a frame. Gives back the budget either way. */
  end(): void {
    const midFrame = this.#expected !== undefined || this.#buffered > 0;
    this.dispose();
    if (midFrame) throw new SwitchyardError("FRAME_INVALID", "connection closed in the middle of a frame");
  }

  /** Drops the unfinished frame and gives back what it reserved; call once the stream is over. */
  dispose(): void {
    if (this.#reserved > 0) this.#budget?.release(this.#reserved);
    this.#reserved = 0;
    this.#chunks = [];
    this.#buffered = 0;
    this.#frame = undefined;
    this.#filled = 0;
    this.#expected = undefined;
  }

  /** Moves the buffered start of a frame of `length` bytes into a buffer of its own, reserving it first. */
  #startFrame(length: number): void {
    if (this.#budget) {
      if (!this.#budget.reserve(length)) {
        this.dispose();
        throw new SwitchyardError(
          "TRANSPORT_OVERLOADED",
          `a frame of ${length} bytes does not fit in what is left of the partial-frame budget; connection closed`,
        );
      }
      this.#reserved = length;
    }
    const frame = new Uint8Array(length);
    for (const part of this.#chunks) {
      frame.set(part, this.#filled);
      this.#filled += part.length;
    }
    this.#chunks = [];
    this.#buffered = 0;
    this.#frame = frame;
  }

  #finishFrame(): void {
    if (this.#reserved > 0) this.#budget?.release(this.#reserved);
    this.#reserved = 0;
    this.#frame = undefined;
    this.#filled = 0;
    this.#expected = undefined;
  }

  #take(count: number): Uint8Array {
    const first = this.#chunks[0];
    if (first && first.length >= count) {
      // The common case: the bytes sit in one chunk; hand out a view, no copy (chunks are never reused).
      const view = first.subarray(0, count);
      if (count === first.length) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(count);
      this.#buffered -= count;
      return view;
    }
    const out = new Uint8Array(count);
    let filled = 0;
    while (filled < count) {
      const head = this.#chunks[0];
      const used = Math.min(head.length, count - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(used);
    }
    this.#buffered -= count;
    return out;
  }
}
