/**
 * Decoders for every built-in codec, shared by the built-in compressors so
 * that any of them decodes any built-in frame, whatever mode its sender is in.
 *
 * @module
 */
import * as v from "valibot";
import { type Codec, DEFAULT_MAX_DECOMPRESSED_BYTES } from "../core/compressor.ts";
import { lz4Codec } from "./compress-lz4/codec.ts";
import { createZstdEngine, type ZstdEngine } from "./compress-zstd/engines.ts";

let zstdEngine: Promise<ZstdEngine> | undefined;

/** The option every built-in compressor takes: frames claiming more than this are rejected before any allocation. */
export const maxDecompressedBytesOption = v.optional(
  v.pipe(v.number(), v.integer(), v.minValue(1)),
  DEFAULT_MAX_DECOMPRESSED_BYTES,
);

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
    throw new Error("the shared zstd decoder does not encode");
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
