/**
 * The two zstd engines behind one interface: the runtime's native zstd
 * (`node:zlib`, present in Deno and Bun) and the WASM build (everywhere).
 * Heavy levels go to a worker pool with the same engine (node:zlib's own
 * "async" zstd still runs on Deno's main thread, so it is not used). Both write
 * standard frames with the content size, so either decodes the other's output.
 *
 * @module
 */
import { ZSTD_ERRORS } from "./errors.ts";
import * as zlib from "node:zlib";
import { SwitchyardError } from "../../core/util/errors.ts";
import { createZstd, type ZstdInstance } from "../../wasm/zstd.js";
import { checkZstdFrame, withoutEmptyTrailingFrames } from "./frame_size.ts";
import { ZstdWorkerPool } from "./pool.ts";

/** Which implementation runs. */
export type ZstdEngineName = "native" | "wasm";

/** A zstd implementation. */
export interface ZstdEngine {
  /** `native` (node:zlib) or `wasm`. */
  readonly name: ZstdEngineName;
  /** Compresses at `level`; `offload` runs it on a worker thread, keeping the event loop free. */
  compress(data: Uint8Array, level: number, offload: boolean): Promise<Uint8Array>;
  /**
   * Decompresses a payload that is exactly one frame declaring exactly
   * `originalLength` bytes, never producing more; trailing bytes and further
   * frames are refused (`FRAME_INVALID`) by both engines alike.
   */
  decompress(payload: Uint8Array, originalLength: number): Promise<Uint8Array>;
  /** Ends the worker threads (if any were started); offloaded compression is refused afterwards. */
  close(): Promise<void>;
}

/** The highest zstd level. */
export const ZSTD_MAX_LEVEL = 22;

type NativeZstd = {
  zstdCompressSync(data: Uint8Array, options: object): Uint8Array;
  zstdDecompressSync(data: Uint8Array, options: object): Uint8Array;
  constants: Record<string, number>;
};

/** The runtime's native zstd, or undefined where `node:zlib` has none (Node before 22.15). */
export function nativeZstd(): NativeZstd | undefined {
  const candidate = zlib as unknown as Partial<NativeZstd>;
  return typeof candidate.zstdCompressSync === "function" && typeof candidate.zstdDecompressSync === "function" &&
      candidate.constants?.ZSTD_c_compressionLevel !== undefined
    ? candidate as NativeZstd
    : undefined;
}

/** A plain Uint8Array view of a Buffer (runtimes return Buffer subclasses from node:zlib). */
const plain = (bytes: Uint8Array) => new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function nativeEngine(native: NativeZstd): ZstdEngine {
  const options = (data: Uint8Array, level: number) => ({
    pledgedSrcSize: data.length,
    params: { [native.constants.ZSTD_c_compressionLevel]: level },
  });
  let pool: ZstdWorkerPool | undefined;
  return {
    name: "native",
    compress: async (data, level, offload) => {
      if (!offload) return withoutEmptyTrailingFrames(plain(native.zstdCompressSync(data, options(data, level))));
      pool ??= new ZstdWorkerPool();
      return withoutEmptyTrailingFrames(await pool.compress(data, level, "native"));
    },
    decompress: async (payload, originalLength) => {
      checkZstdFrame(payload, originalLength);
      return await Promise.resolve(
        plain(native.zstdDecompressSync(payload, { maxOutputLength: Math.max(1, originalLength) })),
      );
    },
    close: async () => await pool?.close(),
  };
}

/** Options of {@linkcode createZstdEngine}. */
export interface ZstdEngineOptions {
  /** Makes a WASM instance (default: `createZstd` of `wasm/zstd.js`); tests use it to force a trap. */
  createWasmInstance?: () => Promise<ZstdInstance>;
}

/**
 * The WASM engine. An instance that traps (`WebAssembly.RuntimeError`) is
 * never used again: its C stack and heap may be left inconsistent, so the
 * next call runs on a fresh instance.
 */
async function wasmEngine(options: ZstdEngineOptions): Promise<ZstdEngine> {
  const create = options.createWasmInstance ?? createZstd;
  let instance = await create();
  let next: Promise<ZstdInstance> | undefined;
  const run = async <T>(what: string, work: (zstd: ZstdInstance) => T): Promise<T> => {
    if (next) {
      instance = await next;
      next = undefined;
    }
    try {
      return work(instance);
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      next = create();
      next.catch(() => {}); // reported by the call that awaits it
      throw new SwitchyardError(
        what === "decompress" ? "FRAME_INVALID" : "INVALID_ARGUMENT",
        `${what === "decompress" ? "invalid frame: " : ""}the zstd WASM ${what}or trapped (${error.message}); ` +
          "a fresh instance takes the next call",
        { cause: error },
      );
    }
  };
  let pool: ZstdWorkerPool | undefined;
  return {
    name: "wasm",
    compress: (data, level, offload) => {
      if (!offload) return run("compress", (zstd) => zstd.compress(data, level));
      pool ??= new ZstdWorkerPool();
      return pool.compress(data, level, "wasm");
    },
    decompress: async (payload, originalLength) => {
      // The WASM decoder allocates the declared size; it was just checked against the frame's bound.
      checkZstdFrame(payload, originalLength);
      if (originalLength === 0) return new Uint8Array(0);
      return await run("decompress", (zstd) => zstd.decompress(payload));
    },
    close: async () => await pool?.close(),
  };
}

/** Picks an engine: `auto` prefers native. */
export async function createZstdEngine(
  preference: "auto" | ZstdEngineName,
  options: ZstdEngineOptions = {},
): Promise<ZstdEngine> {
  const native = preference === "wasm" ? undefined : nativeZstd();
  if (native) return nativeEngine(native);
  if (preference === "native") {
    throw ZSTD_ERRORS.error(
      "ZSTD_UNAVAILABLE",
      'native zstd is not available in this runtime (node:zlib has no zstd); use engine "wasm"',
    );
  }
  return await wasmEngine(options);
}
