/**
 * Decoders for every built-in codec, shared by the built-in compressors so
 * that any of them decodes any built-in frame, whatever mode its sender is in.
 *
 * @module
 */
import { SwitchyardError } from "../core/util/errors.ts";
import * as v from "valibot";
import { type Codec, DEFAULT_MAX_DECOMPRESSED_BYTES } from "../core/contracts/compressor.ts";
import { parseOrThrow } from "../core/util/validation.ts";
import { lz4Codec } from "./compress-lz4/codec.ts";
import { createZstdEngine, type ZstdEngine } from "./compress-zstd/engines.ts";

let zstdEngine: Promise<ZstdEngine> | undefined;

/**
 * The highest `maxDecompressedBytes`: 1 GiB. The WASM decoders allocate a
 * frame's whole output inside their own memory (wasm32; the zstd build grows
 * to 2 GiB at most) next to its input, and the result is copied out once, so
 * a larger bound would let a few bytes claiming more than that trap them.
 */
export const MAX_DECOMPRESSED_BYTES_LIMIT = 1024 * 1024 * 1024;

/** The option every built-in compressor takes: frames claiming more than this are rejected before any allocation. */
export const maxDecompressedBytesOption = v.optional(
  v.pipe(
    v.number(),
    v.integer(),
    v.minValue(1),
    v.maxValue(
      MAX_DECOMPRESSED_BYTES_LIMIT,
      `must be at most ${MAX_DECOMPRESSED_BYTES_LIMIT} (1 GiB: what the WASM decoders can allocate)`,
    ),
  ),
  DEFAULT_MAX_DECOMPRESSED_BYTES,
);

const maxDecompressedBytesArgument = v.object({ maxDecompressedBytes: maxDecompressedBytesOption });

/**
 * `maxDecompressedBytes` checked as the option schema checks it, for the
 * compressors' function APIs: throws a `ValidationError` (`INVALID_ARGUMENT`)
 * naming the field, e.g. for 2^32.
 */
export function checkMaxDecompressedBytes(value: number | undefined, subject: string): number {
  return parseOrThrow(maxDecompressedBytesArgument, { maxDecompressedBytes: value }, subject).maxDecompressedBytes;
}

/** The identity codec. */
export const noneCodec: Codec = {
  name: "none",
  level: 0,
  encode: (data) => data,
  decode: (payload) => payload.slice(),
};

/** A zstd decoder on the runtime's preferred engine, created on first use. */
const zstdDecoder: Codec = {
  name: "zstd",
  level: 0,
  encode: () => {
    throw new SwitchyardError("INVALID_ARGUMENT", "the shared zstd decoder does not encode");
  },
  decode: async (payload, originalLength) => {
    zstdEngine ??= createZstdEngine("auto");
    return await (await zstdEngine).decompress(payload, originalLength);
  },
};

const DECODERS: Record<string, Codec> = { none: noneCodec, lz4: lz4Codec, zstd: zstdDecoder };

/** The decoder of a built-in codec, or undefined. */
export function builtinDecoder(codec: string): Codec | undefined {
  return DECODERS[codec];
}
