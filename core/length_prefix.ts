/**
 * Length-prefixed framing for byte streams: each frame is a u32
 * (little-endian) length followed by that many bytes. The decoder rejects a
 * length past the limit as soon as it reads it, before buffering anything.
 *
 * @module
 */
import { SwitchyardError } from "./errors.ts";

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
 * Turns stream chunks back into frames.
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
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #expected: number | undefined;

  /** Creates a decoder refusing frames longer than `maxFrameBytes`. */
  constructor(maxFrameBytes: number) {
    this.#maxFrameBytes = maxFrameBytes;
  }

  /**
   * Adds a chunk; returns the frames it completes (views into the chunk where
   * possible, so the chunk must not be reused by the caller). Throws
   * `FRAME_TOO_LARGE` for an oversized length.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.#expected === undefined) {
        if (this.#buffered < LENGTH_PREFIX_BYTES) break;
        const prefix = this.#take(LENGTH_PREFIX_BYTES);
        const length = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0, true);
        if (length > this.#maxFrameBytes) {
          throw new SwitchyardError(
            "FRAME_TOO_LARGE",
            `peer sent a frame of ${length} bytes, more than the ${this.#maxFrameBytes}-byte limit`,
          );
        }
        this.#expected = length;
      }
      if (this.#buffered < this.#expected) break;
      frames.push(this.#take(this.#expected));
      this.#expected = undefined;
    }
    return frames;
  }

  /** Throws `FRAME_INVALID` when the stream ended in the middle of a frame. */
  end(): void {
    if (this.#expected !== undefined || this.#buffered > 0) {
      throw new SwitchyardError("FRAME_INVALID", "connection closed in the middle of a frame");
    }
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
