/**
 * `compress-adaptive`: picks codec and level per payload to minimise the
 * time to deliver it (compress + send + decompress) over the link as measured
 * now: on a slow link it compresses harder, on a fast one it backs off to LZ4
 * or none. Speeds and ratios are measured on recent data: every
 * `exploreEvery` calls one other candidate is tried on a sample of the
 * payload, so estimates follow the data.
 *
 * @module
 */
import * as v from "valibot";
import { type Compressor, DEFAULT_MAX_DECOMPRESSED_BYTES, framedCompressor } from "../../core/compressor.ts";
import { decodeFrameHeader, FLAG_STORED } from "../../core/frame.ts";
import { definePlugin, type Plugin } from "../../core/plugin.ts";
import { builtinDecoder } from "../codecs.ts";
import { lz4Compressor } from "../compress-lz4/mod.ts";
import { noneCompressor } from "../compress-none/mod.ts";
import { zstdCompressor } from "../compress-zstd/mod.ts";
import { type CandidateEstimate, DeliveryModel } from "./model.ts";

const CANDIDATE = /^(none|lz4|zstd-([1-9]|1[0-9]|2[0-2]))$/;

const options = v.strictObject({
  /** What it may choose from: "none", "lz4", "zstd-1" … "zstd-22". */
  candidates: v.optional(
    v.pipe(v.array(v.pipe(v.string(), v.regex(CANDIDATE, 'must be "none", "lz4" or "zstd-<1..22>"'))), v.minLength(1)),
    ["none", "lz4", "zstd-1", "zstd-3", "zstd-9", "zstd-19"],
  ),
  /** A fixed link bandwidth; by default the manager's measured median is used. */
  bandwidthMbps: v.optional(v.pipe(v.number(), v.gtValue(0))),
  /** Bandwidth assumed before any is measured. */
  defaultBandwidthMbps: v.optional(v.pipe(v.number(), v.gtValue(0)), 1_000),
  /** Consider trying a runner-up every this many calls (within 5 % of the time spent). */
  exploreEvery: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2)), 16),
  /** Size of the sample candidates are tried on (levels 10 and up get an eighth of it). */
  sampleBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024)), 256 * 1024),
  /** Frames claiming more than this are rejected before any allocation. */
  maxDecompressedBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), DEFAULT_MAX_DECOMPRESSED_BYTES),
});

/** The options, validated. */
export type AdaptiveOptions = v.InferOutput<typeof options>;

/** What the adaptive compressor reports. */
export interface AdaptiveStats {
  /** The bandwidth the last choice assumed. */
  bandwidthMbps: number;
  /** The last choice. */
  lastChoice?: string;
  /** How often each candidate was chosen. */
  choices: Record<string, number>;
  /** The current estimates. */
  estimates: CandidateEstimate[];
  /** The zstd engine in use. */
  zstdEngine: string;
}

/** An adaptive compressor. */
export interface AdaptiveCompressor extends Compressor {
  /** Current estimates and choices. */
  stats(): AdaptiveStats;
  /** Sets a fixed bandwidth (undefined: follow the measurement again). */
  setBandwidthMbps(mbps: number | undefined): void;
  /** Releases worker threads. */
  close(): void;
}

/** Creates an adaptive compressor; `network` supplies the measured bandwidth. */
export async function adaptiveCompressor(
  config: Partial<AdaptiveOptions> = {},
  network: () => { bandwidthMbps?: number } = () => ({}),
  now: () => number = () => performance.now(),
): Promise<AdaptiveCompressor> {
  const settings = v.parse(options, config);
  const maxBytes = settings.maxDecompressedBytes;
  const compressors = new Map<string, Compressor & { close?(): void }>();
  for (const label of settings.candidates) {
    if (label === "none") compressors.set(label, noneCompressor(maxBytes));
    else if (label === "lz4") compressors.set(label, lz4Compressor(maxBytes));
    else {compressors.set(
        label,
        await zstdCompressor({ level: Number(label.slice(5)), maxDecompressedBytes: maxBytes }),
      );}
  }
  const labels = [...compressors.keys()];
  const model = new DeliveryModel(labels);
  const choices: Record<string, number> = Object.fromEntries(labels.map((label) => [label, 0]));
  const decoder = framedCompressor(
    { name: "adaptive", level: 0, encode: (d) => d, decode: () => new Uint8Array(0) },
    { maxDecompressedBytes: maxBytes, decoders: builtinDecoder },
  );
  let fixedMbps = settings.bandwidthMbps;
  let bandwidthMbps = settings.defaultBandwidthMbps;
  let calls = 0;
  let explore = 0;
  let lastChoice: string | undefined;

  const currentBandwidth = () => fixedMbps ?? network().bandwidthMbps ?? settings.defaultBandwidthMbps;
  // Heavy levels are tried on a smaller sample: a trial must never cost more than it can save.
  const sampleOf = (label: string, data: Uint8Array) => {
    const heavy = label.startsWith("zstd-") && Number(label.slice(5)) >= 10;
    return data.subarray(0, Math.min(data.length, heavy ? settings.sampleBytes / 8 : settings.sampleBytes));
  };
  let exploringMs = 0;
  let workingMs = 0;
  const warmed = new Set<string>();
  /**
   * Median milliseconds of `work`, each run timed alone and repeated until
   * about 2 ms have passed: sub-millisecond timings are noise, and a median
   * shrugs off a garbage-collection pause.
   */
  const timed = async <T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> => {
    const start = now();
    const runs: number[] = [];
    let result: T;
    do {
      const t0 = now();
      result = await work();
      runs.push(now() - t0);
    } while (now() - start < 2 && runs.length < 64);
    runs.sort((a, b) => a - b);
    return { result, ms: runs[Math.floor(runs.length / 2)] };
  };
  const trial = async (label: string, data: Uint8Array, calibrating: boolean) => {
    const sample = sampleOf(label, data);
    if (sample.length === 0) return;
    const compressor = compressors.get(label)!;
    const started = now();
    if (!warmed.has(label)) {
      // A cold first call (JIT, WASM tier-up) says little about the next thousand.
      warmed.add(label);
      await compressor.decompress(await compressor.compress(sample));
    }
    const compressed = await timed(() => compressor.compress(sample));
    const decompressed = await timed(() => compressor.decompress(compressed.result));
    if (!calibrating) exploringMs += now() - started;
    model.record(label, {
      originalBytes: sample.length,
      compressedBytes: compressed.result.length,
      compressMs: compressed.ms,
      decompressMs: decompressed.ms,
    });
  };

  return {
    codec: "adaptive",
    codecs: ["none", "lz4", "zstd"],
    async compress(data) {
      calls++;
      bandwidthMbps = currentBandwidth();
      // Calibrate, fastest first, skipping what cannot win at this size and bandwidth.
      for (const label of model.unknown()) {
        if (model.couldWin(label, data.length, bandwidthMbps)) await trial(label, data, true);
      }
      // Explore the runner-up now and then, within 5 % of the time spent working.
      if (calls % settings.exploreEvery === 0 && exploringMs < 0.05 * workingMs) {
        const runnerUp = labels
          .filter((label) => label !== lastChoice && model.couldWin(label, data.length, bandwidthMbps))
          .map((label) => ({ label, ms: model.deliveryMs(label, data.length, bandwidthMbps) ?? Infinity }))
          .sort((a, b) => a.ms - b.ms)[explore++ % 2];
        if (runnerUp) await trial(runnerUp.label, data, false);
      }
      const { label } = model.choose(data.length, bandwidthMbps);
      lastChoice = label;
      choices[label]++;
      const t0 = now();
      const frame = await compressors.get(label)!.compress(data);
      const compressMs = now() - t0;
      workingMs += compressMs + frame.length * 8 / (bandwidthMbps * 1000);
      model.record(label, { originalBytes: data.length, compressedBytes: frame.length, compressMs });
      return frame;
    },
    async decompress(frame) {
      const t0 = now();
      const data = await decoder.decompress(frame);
      const header = decodeFrameHeader(frame, maxBytes);
      const label = header.codec === "zstd" ? `zstd-${header.level}` : header.codec;
      if ((header.flags & FLAG_STORED) === 0 && compressors.has(label)) {
        model.record(label, { originalBytes: data.length, compressedBytes: frame.length, decompressMs: now() - t0 });
      }
      return data;
    },
    stats: () => ({
      bandwidthMbps,
      ...(lastChoice ? { lastChoice } : {}),
      choices: { ...choices },
      estimates: model.estimates(),
      zstdEngine: [...compressors.values()].map((c) => (c as { engine?: string }).engine).find(Boolean) ?? "none",
    }),
    setBandwidthMbps(mbps) {
      fixedMbps = mbps;
    },
    close() {
      for (const compressor of compressors.values()) compressor.close?.();
    },
  };
}

/** The plugin. */
const plugin: Plugin<AdaptiveOptions, AdaptiveCompressor> = definePlugin({
  id: "compress-adaptive",
  version: "0.1.0",
  kind: "compressor",
  description: "Chooses codec and level per payload from the measured bandwidth and codec speeds.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["compressor:adaptive"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
  options,
  create: (context, config) => adaptiveCompressor(config, () => context.network()),
});
export default plugin;
