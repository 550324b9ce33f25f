/**
 * The JS side of the LZ4 encoder in `wasm/lz4_block.js` (AssemblyScript,
 * source in `wasm/assembly/lz4_block.ts`): copies the input into the
 * encoder's memory once, runs it, and returns a view of the block in that
 * memory, which the frame copies out once.
 *
 * Why not lz4-wasm's own encoder (which still decodes every frame): it keeps
 * a wasm-bindgen glue copy on each side and bounds-checked safe Rust inside,
 * and ran at ~0.42x the native `lz4` tool on the benchmark's binary payload;
 * this one runs LZ4's own fast search (5-byte hash, accelerating step) and
 * writes the same block format, ratio equal to native `lz4 -1`.
 *
 * Memory: the instance grows to about twice the largest input; once it holds
 * more than 64 MiB (inputs over about 32 MiB), the next input that fits in
 * 64 MiB starts a fresh instance, so that the memory is given back.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import { lz4BlockModule } from "../../wasm/lz4_block.js";

interface Lz4BlockExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  compress(src: number, length: number, dst: number): number;
}

const PAGE_BYTES = 65_536;
/** Bytes after the input and after the block bound that the encoder may read or write past them. */
const SLACK_BYTES = 64;
/** Memory kept between calls; an instance grown past this is replaced once a smaller input comes. */
const RETAINED_BYTES = 64 * 1024 * 1024;
/** wasm32 addresses 4 GiB at most. */
const MAX_MEMORY_BYTES = 65_536 * PAGE_BYTES;

/**
 * Largest size-prefixed LZ4 block for `length` input bytes: the 4-byte
 * prefix, the input as literals, one length byte per 255 of them, and a
 * token.
 */
export function lz4BlockBound(length: number): number {
  return 4 + length + Math.floor(length / 255) + 16;
}

const align8 = (n: number) => (n + 7) & ~7;

/** Where an input of `length` bytes and its block go in `encoder`'s memory, and the first byte past them. */
function layout(encoder: Lz4BlockExports, length: number): { src: number; dst: number; end: number } {
  const src = align8(encoder.heapBase());
  const dst = align8(src + length + SLACK_BYTES);
  return { src, dst, end: dst + lz4BlockBound(length) + SLACK_BYTES };
}

/**
 * Encodes into size-prefixed LZ4 blocks with one WASM instance.
 *
 * @example
 * ```ts
 * import { Lz4BlockEncoder } from "./encoder.ts";
 * const encoder = new Lz4BlockEncoder();
 * const block = encoder.encode(new TextEncoder().encode("abcabcabcabcabcabc")).slice();
 * ```
 */
export class Lz4BlockEncoder {
  #instance: Lz4BlockExports | undefined;

  /** Bytes of WASM memory the encoder holds now (0 before its first `encode`). */
  get memoryBytes(): number {
    return this.#instance?.memory.buffer.byteLength ?? 0;
  }

  /**
   * Compresses `data`. The result is a view of the encoder's memory, valid
   * until its next `encode`: copy it (or frame it) before encoding again.
   */
  encode(data: Uint8Array): Uint8Array {
    const { encoder, src, dst } = this.#fit(data.length);
    new Uint8Array(encoder.memory.buffer).set(data, src);
    const written = encoder.compress(src, data.length, dst);
    return new Uint8Array(encoder.memory.buffer, dst, written);
  }

  /**
   * The instance, grown (or replaced by a fresh, small one) to take an input
   * of `length` bytes, and where the input and its block go in its memory.
   */
  #fit(length: number): { encoder: Lz4BlockExports; src: number; dst: number } {
    let encoder = this.#instance;
    if (encoder && encoder.memory.buffer.byteLength > RETAINED_BYTES && layout(encoder, length).end <= RETAINED_BYTES) {
      encoder = undefined;
    }
    encoder ??= new WebAssembly.Instance(lz4BlockModule).exports as unknown as Lz4BlockExports;
    this.#instance = encoder;
    const { src, dst, end: bytes } = layout(encoder, length);
    const have = encoder.memory.buffer.byteLength;
    if (bytes > have) {
      try {
        if (bytes > MAX_MEMORY_BYTES) throw new SwitchyardError("INVALID_ARGUMENT", "past the 4 GiB of wasm32");
        encoder.memory.grow(Math.ceil((bytes - have) / PAGE_BYTES));
      } catch (error) {
        throw new SwitchyardError(
          "INVALID_ARGUMENT",
          `lz4: a ${length}-byte input needs ${bytes} bytes of WASM memory, which could not be had (${
            (error as Error).message
          })`,
          { cause: error },
        );
      }
    }
    return { encoder, src, dst };
  }
}
