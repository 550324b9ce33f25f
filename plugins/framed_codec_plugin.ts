/**
 * One factory for the built-in compressors that are a raw codec in the
 * checked frame and nothing more (`compress-lz4`, `compress-none`): the
 * compressor, with the shared decoders of every built-in codec, and its
 * plugin, whose one option is `maxDecompressedBytes`.
 *
 * @module
 */
import * as v from "valibot";
import {
  type Codec,
  type Compressor,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  framedCompressor,
} from "../core/contracts/compressor.ts";
import type { Plugin } from "../core/loading/plugin.ts";
import { builtinPlugin } from "./builtin_plugin.ts";
import { builtinDecoder, checkMaxDecompressedBytes, maxDecompressedBytesOption } from "./codecs.ts";

const options = v.strictObject({
  /** Frames claiming more than this are rejected before any allocation. */
  maxDecompressedBytes: maxDecompressedBytesOption,
});

/** The options of a {@linkcode framedCodecPlugin}, validated. */
export type FramedCodecOptions = v.InferOutput<typeof options>;

/**
 * `codec` in the checked frame, decoding every built-in codec's frames too;
 * `maxDecompressedBytes` is 1 … 1 GiB (a `ValidationError` naming it, with
 * `subject`, otherwise).
 */
export function framedCodecCompressor(
  codec: Codec,
  maxDecompressedBytes: number = DEFAULT_MAX_DECOMPRESSED_BYTES,
  subject: string,
): Compressor {
  return framedCompressor(codec, {
    maxDecompressedBytes: checkMaxDecompressedBytes(maxDecompressedBytes, subject),
    decoders: builtinDecoder,
  });
}

/** What differs between the framed-codec plugins. */
export interface FramedCodecDeclaration {
  /** The plugin id, e.g. `"compress-lz4"`. */
  id: string;
  /** One line for humans. */
  description: string;
  /** The raw codec. */
  codec: Codec;
}

/** The plugin of a framed codec: it serves every mode and provides `compressor:<codec name>`. */
export function framedCodecPlugin(
  declaration: FramedCodecDeclaration,
): Plugin<"compressor", FramedCodecOptions, Compressor> {
  const { id, description, codec } = declaration;
  return builtinPlugin({
    id,
    kind: "compressor",
    description,
    modes: ["datacenter", "internet", "hybrid"],
    provides: [`compressor:${codec.name}`],
    options,
    create: (_context, { maxDecompressedBytes }) => framedCodecCompressor(codec, maxDecompressedBytes, id),
  });
}
