/**
 * The zstd worker: compresses what the pool sends, with the WASM encoder.
 *
 * @module
 */
import { compress, initZstd } from "../../wasm/zstd.js";

const ready = initZstd();
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<{ id: number; data: Uint8Array; level: number }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = async (event) => {
  const { id, data, level } = event.data;
  try {
    await ready;
    const out = compress(data, level);
    scope.postMessage({ id, out }, [out.buffer as ArrayBuffer]);
  } catch (error) {
    scope.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
};
