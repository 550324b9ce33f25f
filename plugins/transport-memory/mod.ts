/**
 * `transport-memory`: in-process links with an emulated delay, jitter,
 * bandwidth and loss, deterministic under `ManualClock` and a seed. Used by
 * tests, simulations and the demo; plugin instances that name the same
 * `network` share it.
 *
 * @module
 */
import * as v from "valibot";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import type { Transport } from "../../core/contracts/transport.ts";
import { MemoryNetwork } from "./network.ts";

export { MemoryNetwork } from "./network.ts";
export type { LinkModel } from "./link.ts";

const link = v.strictObject({
  delayMs: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
  jitterMs: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
  bandwidthMbps: v.optional(v.pipe(v.number(), v.minValue(0)), 0),
  lossRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0),
});

const options = v.strictObject({
  /** Which in-process network to join (instances naming the same one can reach each other). */
  network: v.optional(v.pipe(v.string(), v.minLength(1)), "default"),
  /** This node's address on it. */
  address: v.pipe(v.string(), v.minLength(1)),
  /** The default link of the network (set by the first instance that names it). */
  link: v.optional(link, {}),
  /** Seed of jitter and loss. */
  seed: v.optional(v.pipe(v.number(), v.integer()), 1),
  /** Largest frame. */
  maxFrameBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 16 * 1024 * 1024),
  /** Unread bytes at which `send` waits. */
  highWaterBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 4 * 1024 * 1024),
});

/** The options, validated. */
export type MemoryTransportOptions = v.InferOutput<typeof options>;

const networks = new Map<string, MemoryNetwork>();

/** The plugin. */
const plugin: Plugin<"transport", MemoryTransportOptions, Transport> = builtinPlugin({
  id: "transport-memory",
  kind: "transport",
  description: "In-process links with emulated delay, jitter, bandwidth and loss.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["transport", "transport:memory"],
  options,
  create(context, config) {
    let network = networks.get(config.network);
    if (!network) {
      network = new MemoryNetwork({ clock: context.clock, seed: config.seed, defaultLink: config.link });
      networks.set(config.network, network);
    }
    return network.transport(config.address, {
      maxFrameBytes: config.maxFrameBytes,
      highWaterBytes: config.highWaterBytes,
    });
  },
});
export default plugin;
