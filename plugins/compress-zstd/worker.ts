/**
 * The zstd worker: compresses what the pool sends, with native zstd when the
 * runtime has it and the pool asks for it, else with the WASM encoder (a
 * fresh instance after one traps). It runs as a web worker (Deno, Bun) and
 * on `node:worker_threads` (Node), whose `parentPort` it then talks through.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import * as zlib from "node:zlib";
import { createZstd, type ZstdInstance } from "../../wasm/zstd.js";

type Request = { id: number; data: Uint8Array; level: number; engine: "native" | "wasm" };
type NativeZlib = {
  zstdCompressSync?(data: Uint8Array, options: object): Uint8Array;
  constants: Record<string, number>;
};

const native = zlib as unknown as NativeZlib;
let wasm: Promise<ZstdInstance> | undefined;
const web = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};
/** Where requests come from and replies go: `parentPort` on worker_threads, the worker's global scope otherwise. */
const port = {
  listen(handler: (request: Request) => void): void {
    if (parentPort) parentPort.on("message", handler);
    else web.onmessage = (event) => handler(event.data);
  },
  reply(message: unknown, transfer: ArrayBuffer[] = []): void {
    if (parentPort) parentPort.postMessage(message, transfer);
    else web.postMessage(message, transfer);
  },
};

function compressNative(data: Uint8Array, level: number): Uint8Array {
  const out = native.zstdCompressSync!(data, {
    pledgedSrcSize: data.length,
    params: { [native.constants.ZSTD_c_compressionLevel]: level },
  });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice();
}

port.listen(async ({ id, data, level, engine }) => {
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
    port.reply({ id, out }, [out.buffer as ArrayBuffer]);
  } catch (error) {
    port.reply({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
