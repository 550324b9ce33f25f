/**
 * `compress-zstd`: zstd for size (internet mode). Native zstd where the
 * runtime has it (Deno and Bun through `node:zlib`), WASM elsewhere; heavy
 * levels run off the event loop (thread pool or workers).
 *
 * @module
 */
import * as v from "valibot";
import { type Compressor, framedCompressor } from "../../core/contracts/compressor.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { builtinDecoder, checkMaxDecompressedBytes, maxDecompressedBytesOption } from "../codecs.ts";
import { createZstdEngine, ZSTD_MAX_LEVEL, type ZstdEngineName } from "./engines.ts";

const options = v.strictObject({
  /** 1–22, or "max" for 22. The default, 9, is high yet fast enough not to be the bottleneck of a WAN link. */
  level: v.optional(
    v.union([v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(ZSTD_MAX_LEVEL)), v.literal("max")]),
    9,
  ),
  /** `auto` uses native zstd where the runtime has it, else WASM. */
  engine: v.optional(v.picklist(["auto", "native", "wasm"]), "auto"),
  /** Levels from this one up compress off the event loop. */
  offloadFromLevel: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10),
  /** Frames claiming more than this are rejected before any allocation. */
  maxDecompressedBytes: maxDecompressedBytesOption,
});

/** The options, validated. */
export type ZstdOptions = v.InferOutput<typeof options>;

/** A zstd compressor, with the engine it runs on. */
export interface ZstdCompressor extends Compressor {
  /** `native` or `wasm`. */
  readonly engine: ZstdEngineName;
  /** The level in use. */
  readonly level: number;
  /** Which engine and level, for stats. */
  stats(): { engine: ZstdEngineName; level: number; offloaded: boolean };
  /**
   * Ends the worker threads that heavy levels run on, so that nothing of the
   * compressor keeps the process alive; final (offloaded compression is refused afterwards).
   */
  close(): Promise<void>;
}

/** Creates a zstd compressor (`maxDecompressedBytes`: 1 … 1 GiB, checked). */
export async function zstdCompressor(config: Partial<ZstdOptions> = {}): Promise<ZstdCompressor> {
  const maxDecompressedBytes = checkMaxDecompressedBytes(config.maxDecompressedBytes, "zstdCompressor");
  const level = config.level === "max" ? ZSTD_MAX_LEVEL : config.level ?? 9;
  const engine = await createZstdEngine(config.engine ?? "auto");
  const offload = level >= (config.offloadFromLevel ?? 10);
  const framed = framedCompressor(
    {
      name: "zstd",
      level,
      encode: (data) => engine.compress(data, level, offload),
      decode: (payload, originalLength) => engine.decompress(payload, originalLength),
    },
    { maxDecompressedBytes, decoders: builtinDecoder },
  );
  return {
    ...framed,
    engine: engine.name,
    level,
    stats: () => ({ engine: engine.name, level, offloaded: offload }),
    close: () => engine.close(),
  };
}

/** The plugin. */
const plugin: Plugin<"compressor", ZstdOptions, ZstdCompressor> = builtinPlugin({
  id: "compress-zstd",
  kind: "compressor",
  description: "zstd (native where available, else WASM): dense compression for internet links.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["compressor:zstd"],
  options,
  create: async (context, config) => {
    const compressor = await zstdCompressor(config);
    context.logger.info("zstd ready", compressor.stats());
    return compressor;
  },
});
export default plugin;
