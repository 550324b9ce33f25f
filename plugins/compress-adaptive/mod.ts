/**
 * `compress-adaptive`: picks codec and level per payload to minimise the
 * time to deliver it (compress + send + decompress) over the link as measured
 * now: on a slow link it compresses harder, on a fast one it backs off to LZ4
 * or none. Speeds and ratios come from the real payloads it compresses;
 * candidates never used are estimated from priors scaled to LZ4's measured
 * figures, and a close runner-up now and then carries a real payload, so
 * nothing is ever compressed twice just to learn.
 *
 * @module
 */
import * as v from "valibot";
import { type Compressor, decodePayload } from "../../core/contracts/compressor.ts";
import { decodeFrameHeader, FLAG_STORED } from "../../core/contracts/frame.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { seededRandom } from "../../core/util/random.ts";
import { parseOrThrow } from "../../core/util/validation.ts";
import { builtinDecoder, maxDecompressedBytesOption } from "../codecs.ts";
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
  /** A runner-up within `exploreMargin` of the best is used for a real payload at most every this many calls. */
  exploreEvery: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2)), 8),
  /** How close (a fraction of the best estimate) a runner-up must be to be worth re-measuring. */
  exploreMargin: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.25),
  /** Frames claiming more than this are rejected before any allocation. */
  maxDecompressedBytes: maxDecompressedBytesOption,
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
  /** The current estimates (priors filled in for candidates never used). */
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
  /** Closes every candidate compressor, ending their worker threads; final. */
  close(): Promise<void>;
}

/**
 * Creates an adaptive compressor; `network` supplies the measured bandwidth,
 * `now` the high-resolution time its speed measurements use.
 */
export async function adaptiveCompressor(
  config: Partial<AdaptiveOptions> = {},
  network: () => { bandwidthMbps?: number } = () => ({}),
  now: () => number = () => performance.now(),
): Promise<AdaptiveCompressor> {
  const settings = parseOrThrow(options, config, "adaptiveCompressor");
  const maxBytes = settings.maxDecompressedBytes;
  const compressors = new Map<string, Compressor & { close?(): Promise<void> }>();
  for (const label of settings.candidates) {
    if (label === "none") compressors.set(label, noneCompressor(maxBytes));
    else if (label === "lz4") compressors.set(label, lz4Compressor(maxBytes));
    else {compressors.set(
        label,
        await zstdCompressor({ level: Number(label.slice(5)), maxDecompressedBytes: maxBytes }),
      );}
  }
  // Warm every codec (JIT, WASM tier-up, memory growth) so that the first real measurement means
  // something: the fast ones on a 64 KiB sample a few times (a first call on cold WASM code runs
  // several times slower), the slow zstd levels once on a small one.
  const small = new TextEncoder().encode(JSON.stringify({ warm: Array.from({ length: 200 }, (_, i) => i) }));
  const large = warmUpSample(64 * 1024);
  for (const [label, compressor] of compressors) {
    const fast = label === "none" || label === "lz4" || Number(label.slice(5)) <= 3;
    const sample = fast ? large : small;
    for (let i = 0; i < (fast ? 4 : 1); i++) await compressor.decompress(await compressor.compress(sample));
  }

  const labels = [...compressors.keys()];
  const model = new DeliveryModel(labels);
  const choices: Record<string, number> = Object.fromEntries(labels.map((label) => [label, 0]));
  const lastUsed = new Map<string, number>();
  let fixedMbps = settings.bandwidthMbps;
  let bandwidthMbps = settings.defaultBandwidthMbps;
  let calls = 0;
  let lastChoice: string | undefined;

  const pick = (bytes: number): string => {
    const ranked = model.rank(bytes, bandwidthMbps);
    if (ranked.length === 0) return model.reference;
    const [best, runnerUp] = ranked;
    // Learn by doing: now and then a close runner-up carries a real payload, so its estimate stays true.
    if (
      runnerUp && runnerUp.deliveryMs <= best.deliveryMs * (1 + settings.exploreMargin) &&
      calls - (lastUsed.get(runnerUp.label) ?? -Infinity) >= settings.exploreEvery &&
      calls - (lastUsed.get(best.label) ?? -Infinity) < settings.exploreEvery
    ) {
      return runnerUp.label;
    }
    return best.label;
  };

  return {
    codec: "adaptive",
    codecs: ["none", "lz4", "zstd"],
    async compress(data) {
      calls++;
      bandwidthMbps = fixedMbps ?? network().bandwidthMbps ?? settings.defaultBandwidthMbps;
      const label = pick(data.length);
      const compressor = compressors.get(label)!;
      lastChoice = label;
      choices[label]++;
      const firstUse = !lastUsed.has(label);
      lastUsed.set(label, calls);
      const t0 = now();
      const frame = await compressor.compress(data);
      const compressMs = now() - t0;
      let decompressMs: number | undefined;
      if (firstUse) {
        // The receiver's cost matters too; measure it once here, then from frames this node decodes.
        const t1 = now();
        await compressor.decompress(frame);
        decompressMs = now() - t1;
      }
      model.record(label, { originalBytes: data.length, compressedBytes: frame.length, compressMs, decompressMs });
      return frame;
    },
    async decompress(frame) {
      const t0 = now();
      const header = decodeFrameHeader(frame, maxBytes);
      const data = await decodePayload(builtinDecoder(header.codec), header, frame);
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
    async close() {
      await Promise.all([...compressors.values()].map((compressor) => compressor.close?.()));
    },
  };
}

/** Half text with repeats, half noise: both the match and the literal paths of a codec get warm. */
function warmUpSample(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const text = new TextEncoder().encode('{"id":1,"name":"warm-up","tags":["a","b"],"value":0.5},');
  for (let i = 0; i < bytes / 2; i++) out[i] = text[i % text.length];
  const random = seededRandom(1);
  for (let i = bytes / 2; i < bytes; i++) out[i] = Math.floor(random.next() * 256);
  return out;
}

/** The plugin. */
const plugin: Plugin<"compressor", AdaptiveOptions, AdaptiveCompressor> = builtinPlugin({
  id: "compress-adaptive",
  kind: "compressor",
  description: "Chooses codec and level per payload from the measured bandwidth and codec speeds.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["compressor:adaptive"],
  options,
  create: (context, config) => adaptiveCompressor(config, () => context.network()),
});
export default plugin;
