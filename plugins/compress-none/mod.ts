/**
 * `compress-none`: no compression, but the same checked frame as every codec
 * (codec name, original length, checksum), so corruption is still caught and
 * peers in other modes still decode it.
 *
 * @module
 */
import { type Compressor, DEFAULT_MAX_DECOMPRESSED_BYTES } from "../../core/contracts/compressor.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { noneCodec } from "../codecs.ts";
import { framedCodecCompressor, type FramedCodecOptions, framedCodecPlugin } from "../framed_codec_plugin.ts";

/** The identity codec as a compressor; `maxDecompressedBytes` is 1 … 1 GiB. */
export function noneCompressor(maxDecompressedBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES): Compressor {
  return framedCodecCompressor(noneCodec, maxDecompressedBytes, "noneCompressor");
}

/** The plugin. */
const plugin: Plugin<"compressor", FramedCodecOptions, Compressor> = framedCodecPlugin({
  id: "compress-none",
  description: "No compression; frames are still checked.",
  codec: noneCodec,
});
export default plugin;
