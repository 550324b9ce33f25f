/**
 * `transport-links`: the adaptive transport with per-link compression on
 * the wire. Each dialed link compresses its frames with the compressor of
 * its own mode (the manager's `linkMode`: the link's own with `linkModes:
 * "per-peer"`, the node's otherwise), LZ4 in datacenter, the adaptive
 * compressor in hybrid, zstd in internet, and moves to a new one gradually
 * (`link_compression.ts`). List it before `transport-adaptive` in a
 * manifest: engines that require `transport` then get it.
 *
 * @module
 */
import * as v from "valibot";
import { capability } from "../../core/loading/capability.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { StepsSchema } from "../transport-kit/gradual.ts";
import { type LinkCompressedTransport, linkCompressedTransport } from "./link_compression.ts";

export { FRAME_OVERHEAD_BYTES, linkCompressedTransport } from "./link_compression.ts";
export type {
  LinkCompressedTransport,
  LinkCompressionOptions,
  LinkCompressionRecord,
  LinkCompressionStatus,
} from "./link_compression.ts";

const BASE = capability("transport:adaptive", "transport");
const LZ4 = capability("compressor:lz4", "compressor");
const ZSTD = capability("compressor:zstd", "compressor");
const ADAPTIVE = capability("compressor:adaptive", "compressor");

const positive = (fallback: number) => v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0)), fallback);

const options = v.strictObject({
  /** The name of each dialed address's link, as the probes name that peer (default: the address itself). */
  links: v.optional(v.record(v.pipe(v.string(), v.minLength(1)), v.pipe(v.string(), v.minLength(1))), {}),
  /** The new compressor's share of a link's frames at each step, increasing, the last 1. */
  steps: StepsSchema,
  /** How long each step is held, ms. */
  holdMs: positive(1_000),
  /** After a rollback, how long until a link tries again, ms. */
  retryAfterMs: positive(30_000),
});

/** The plugin. */
const plugin: Plugin<"transport", v.InferOutput<typeof options>, LinkCompressedTransport> = builtinPlugin({
  id: "transport-links",
  kind: "transport",
  description: "The adaptive transport, each link's frames compressed by its own mode's compressor.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["transport", "transport:links"],
  requires: [BASE.name, LZ4.name, ZSTD.name, ADAPTIVE.name],
  permissions: ["net"],
  options,
  create(context, config) {
    const linkOf = (address: string) => Object.hasOwn(config.links, address) ? config.links[address] : address;
    return linkCompressedTransport(context.require(BASE), {
      clock: context.clock,
      compressors: {
        datacenter: context.require(LZ4),
        hybrid: context.require(ADAPTIVE),
        internet: context.require(ZSTD),
      },
      // Before the manager exists (and outside one), a link serves the initial mode.
      modeOf: (address) =>
        (address === undefined ? undefined : context.linkMode(linkOf(address))) ?? context.config.initialMode,
      linkOf,
      steps: config.steps,
      holdMs: config.holdMs,
      retryAfterMs: config.retryAfterMs,
      metrics: context.metrics,
    });
  },
});
export default plugin;
