/**
 * `compress-lz4`: LZ4 for speed (datacenter mode), as WASM on every runtime.
 *
 * @module
 */
import { type Compressor, DEFAULT_MAX_DECOMPRESSED_BYTES } from "../../core/contracts/compressor.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { framedCodecCompressor, type FramedCodecOptions, framedCodecPlugin } from "../framed_codec_plugin.ts";
import { lz4Codec } from "./codec.ts";

/** An LZ4 compressor that also decodes every other built-in codec's frames; `maxDecompressedBytes` is 1 … 1 GiB. */
export function lz4Compressor(maxDecompressedBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES): Compressor {
  return framedCodecCompressor(lz4Codec, maxDecompressedBytes, "lz4Compressor");
}

/** The plugin. */
const plugin: Plugin<"compressor", FramedCodecOptions, Compressor> = framedCodecPlugin({
  id: "compress-lz4",
  description: "LZ4 (WASM): fast compression for datacenter links.",
  codec: lz4Codec,
});
export default plugin;
