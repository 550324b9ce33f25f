/**
 * The zstd worker: compresses what the pool sends, with native zstd when the
 * runtime has it and the pool asks for it, else with the WASM encoder (a
 * fresh instance after one traps).
 *
 * @module
 */
import * as zlib from "node:zlib";
import { createZstd, type ZstdInstance } from "../../wasm/zstd.js";

type Request = { id: number; data: Uint8Array; level: number; engine: "native" | "wasm" };
type NativeZlib = {
  zstdCompressSync?(data: Uint8Array, options: object): Uint8Array;
  constants: Record<string, number>;
};

const native = zlib as unknown as NativeZlib;
let wasm: Promise<ZstdInstance> | undefined;
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

function compressNative(data: Uint8Array, level: number): Uint8Array {
  const out = native.zstdCompressSync!(data, {
    pledgedSrcSize: data.length,
    params: { [native.constants.ZSTD_c_compressionLevel]: level },
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}

scope.onmessage = async (event) => {
  const { id, data, level, engine } = event.data;
  try {
    let out: Uint8Array;
    if (engine === "native" && native.zstdCompressSync) {
      out = compressNative(data, level);
    } else {
      wasm ??= createZstd();
      const instance = await wasm;
      try {
        out = instance.compress(data, level);
      } catch (error) {
        if (error instanceof WebAssembly.RuntimeError) wasm = undefined;
        throw error;
      }
    }
    scope.postMessage({ id, out }, [out.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
