/**
 * `compress-none`: no compression, but the same checked frame as every codec
 * (codec name, original length, checksum), so corruption is still caught and
 * peers in other modes still decode it.
 *
 * @module
 */
import * as v from "valibot";
import { type Compressor, DEFAULT_MAX_DECOMPRESSED_BYTES, framedCompressor } from "../../core/contracts/compressor.ts";
import { definePlugin, type Plugin } from "../../core/loading/plugin.ts";
import { builtinDecoder, checkMaxDecompressedBytes, maxDecompressedBytesOption, noneCodec } from "../codecs.ts";

const options = v.strictObject({
  /** Frames claiming more than this are rejected before any allocation. */
  maxDecompressedBytes: maxDecompressedBytesOption,
});

/** The identity codec as a compressor. */
export function noneCompressor(maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES): Compressor {
  return framedCompressor(noneCodec, {
    maxDecompressedBytes: checkMaxDecompressedBytes(maxDecompressedBytes, "noneCompressor"),
    decoders: builtinDecoder,
  });
}

/** The plugin. */
const plugin: Plugin<v.InferOutput<typeof options>, Compressor> = definePlugin({
  id: "compress-none",
  version: "0.1.0",
  kind: "compressor",
  description: "No compression; frames are still checked.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["compressor:none"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
  options,
  create: (_context, { maxDecompressedBytes }) => noneCompressor(maxDecompressedBytes),
});
export default plugin;
