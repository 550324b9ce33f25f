/**
 * Benchmark inputs: a realistic JSON document and a binary payload (machine
 * code, a sensor time series and noise), both deterministic.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { seededRandom } from "../core/util/random.ts";
import { sampleJson } from "../testing/compressor.ts";

/** A JSON document of `bytes`. */
export function jsonDocument(bytes: number): Uint8Array {
  return sampleJson(bytes, 11).subarray(0, bytes);
}

/** A mixed binary payload of `bytes`: WASM machine code, float64 sensor readings, and random bytes. */
export async function binaryPayload(bytes: number): Promise<Uint8Array> {
  const code = new Uint8Array(
    await readFile(new URL("../node_modules/@bokuweb/zstd-wasm/dist/web/zstd.wasm", import.meta.url)),
  );
  const out = new Uint8Array(bytes);
  const random = seededRandom(12);
  let offset = 0;
  while (offset < bytes) {
    const chunk = Math.min(bytes - offset, 64 * 1024);
    const kind = Math.floor(offset / (64 * 1024)) % 3;
    if (kind === 0) {
      out.set(code.subarray(offset % (code.length - chunk), offset % (code.length - chunk) + chunk), offset);
    } else if (kind === 1) {
      const view = new DataView(out.buffer, offset, chunk - (chunk % 8));
      for (let i = 0; i + 8 <= chunk; i += 8) {
        const t = (offset + i) / 8;
        view.setFloat64(i, 20 + 5 * Math.sin(t / 500) + random.between(-0.01, 0.01), true);
      }
    } else {
      for (let i = 0; i < chunk; i++) out[offset + i] = Math.floor(random.next() * 256);
    }
    offset += chunk;
  }
  return out;
}
