/**
 * `compress-lz4`: LZ4 for speed (datacenter mode), as WASM on every runtime.
 *
 * @module
 */
import * as v from "valibot";
import { type Compressor, DEFAULT_MAX_DECOMPRESSED_BYTES, framedCompressor } from "../../core/contracts/compressor.ts";
import { definePlugin, type Plugin } from "../../core/loading/plugin.ts";
import { builtinDecoder, checkMaxDecompressedBytes, maxDecompressedBytesOption } from "../codecs.ts";
import { lz4Codec } from "./codec.ts";

const options = v.strictObject({
  /** Frames claiming more than this are rejected before any allocation. */
  maxDecompressedBytes: maxDecompressedBytesOption,
});

/** An LZ4 compressor that also decodes every other built-in codec's frames; `maxDecompressedBytes` is 1 … 1 GiB. */
export function lz4Compressor(maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Compressor {
  return framedCompressor(lz4Codec, {
    maxDecompressedBytes: checkMaxDecompressedBytes(maxDecompressedBytes, "lz4Compressor"),
    decoders: builtinDecoder,
  });
}

/** The plugin. */
const plugin: Plugin<v.InferOutput<typeof options>, Compressor> = definePlugin({
  id: "compress-lz4",
  version: "0.1.0",
  kind: "compressor",
  description: "LZ4 (WASM): fast compression for datacenter links.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["compressor:lz4"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
  options,
  create: (_context, { maxDecompressedBytes }) => lz4Compressor(maxDecompressedBytes),
});
export default plugin;
