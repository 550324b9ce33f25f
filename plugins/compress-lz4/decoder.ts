/**
 * The LZ4 decoder: lz4-wasm's module (lz4_flex compiled to WASM, from
 * `wasm/lz4_decoder.js`) behind a small glue of its own, so that the decoder
 * owns its instance and can replace it:
 *
 * - after a trap (`WebAssembly.RuntimeError`): wasm-bindgen's shadow stack
 *   pointer is not restored when an instance traps, so every trap leaks a
 *   stack frame and, a few thousand traps later, every call fails with
 *   "memory access out of bounds". The trapped instance is dropped and the
 *   next call gets a fresh one;
 * - once its memory has grown past 64 MiB (a large block), so that the
 *   memory is given back instead of being held by the instance for good.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import { lz4DecoderModule } from "../../wasm/lz4_decoder.js";

interface Lz4DecoderExports {
  memory: WebAssembly.Memory;
  decompress(retptr: number, ptr: number, len: number): void;
  __wbindgen_add_to_stack_pointer(delta: number): number;
  __wbindgen_malloc(size: number): number;
  __wbindgen_free(ptr: number, size: number): void;
}

/** Memory an instance may keep between calls; one grown past it is replaced. */
const RETAINED_BYTES = 64 * 1024 * 1024;

/** Decodes size-prefixed LZ4 blocks with one WASM instance at a time. */
export class Lz4Decoder {
  #instance: Lz4DecoderExports | undefined;
  #error = "";
  /** Instances created so far (the first call creates one; each trap makes the next call create another). */
  instances = 0;
  /** Traps survived. */
  traps = 0;

  /** Bytes of WASM memory the decoder holds now (0 when it holds no instance). */
  get memoryBytes(): number {
    return this.#instance?.memory.buffer.byteLength ?? 0;
  }

  /**
   * Decodes a block prefixed by its decoded size (u32, little-endian). The
   * decoder allocates what the prefix claims: check it first. Throws
   * `FRAME_INVALID` for a bad block, also when the instance trapped.
   */
  decode(block: Uint8Array): Uint8Array {
    const wasm = this.#instance ?? this.#create();
    try {
      return this.#call(wasm, block);
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      this.#instance = undefined;
      this.traps++;
      throw new SwitchyardError(
        "FRAME_INVALID",
        `invalid frame: the lz4 decoder trapped (${error.message}); a fresh instance takes the next block`,
        { cause: error },
      );
    } finally {
      if (this.#instance && this.#instance.memory.buffer.byteLength > RETAINED_BYTES) this.#instance = undefined;
    }
  }

  #create(): Lz4DecoderExports {
    const instance = new WebAssembly.Instance(lz4DecoderModule, {
      "./lz4_wasm_bg.js": {
        // The decoder's only import: it hands over its error message as a string, returning a handle.
        __wbindgen_string_new: (ptr: number, len: number) => {
          this.#error = new TextDecoder().decode(new Uint8Array(this.#instance!.memory.buffer, ptr, len));
          return 0;
        },
      },
    });
    this.#instance = instance.exports as unknown as Lz4DecoderExports;
    this.instances++;
    return this.#instance;
  }

  /** wasm-bindgen's calling convention for `fn decompress(&[u8]) -> Result<Vec<u8>, JsValue>`. */
  #call(wasm: Lz4DecoderExports, block: Uint8Array): Uint8Array {
    const retptr = wasm.__wbindgen_add_to_stack_pointer(-16);
    try {
      const input = wasm.__wbindgen_malloc(block.length);
      new Uint8Array(wasm.memory.buffer).set(block, input);
      wasm.decompress(retptr, input, block.length);
      const [pointer, length, , failed] = new Int32Array(wasm.memory.buffer, retptr, 4);
      if (failed) {
        throw new SwitchyardError("FRAME_INVALID", `invalid frame: lz4 block does not decode: ${this.#error}`);
      }
      const out = new Uint8Array(wasm.memory.buffer, pointer, length).slice();
      wasm.__wbindgen_free(pointer, length);
      return out;
    } finally {
      wasm.__wbindgen_add_to_stack_pointer(16);
    }
  }
}
