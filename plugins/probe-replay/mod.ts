/**
 * `probe-replay`: replays a network timeline (recorded or scripted) on the
 * plugin's clock, with optional seeded jitter. For demos, rehearsals of a
 * failover, and tests across the whole plugin path.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../../core/util/clock.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import type { Probe } from "../../core/contracts/probe.ts";
import { seededRandom } from "../../core/util/random.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";

const measure = (max = Number.POSITIVE_INFINITY) =>
  v.optional(v.pipe(v.number(), v.finite(), v.minValue(0), v.maxValue(max)));

const options = v.strictObject({
  /** The probe's name in stats. */
  name: v.optional(v.pipe(v.string(), v.minLength(1)), "replay"),
  /** The timeline: each step holds its sample for `durationMs`. */
  steps: v.pipe(
    v.array(v.strictObject({
      durationMs: v.pipe(v.number(), v.finite(), v.gtValue(0)),
      rttMs: measure(),
      bandwidthMbps: measure(),
      lossRatio: measure(1),
    })),
    v.minLength(1, "needs at least one step"),
  ),
  /** Start over after the last step (otherwise the last step holds). */
  loop: v.optional(v.boolean(), false),
  /** Multiplies RTT and bandwidth by 1 ± up to this. */
  jitterRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(0.5)), 0),
  /** Seed of the jitter. */
  seed: v.optional(v.pipe(v.number(), v.integer()), 1),
});

/** The options, validated. */
export type ReplayOptions = v.InferOutput<typeof options>;

/**
 * A probe replaying `steps` from the moment it is created.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../../core/util/clock.ts";
 * import { replayProbe } from "./mod.ts";
 * const probe = replayProbe(new ManualClock(), {
 *   name: "failover", loop: false, jitterRatio: 0, seed: 1,
 *   steps: [{ durationMs: 60_000, rttMs: 0.5 }, { durationMs: 60_000, rttMs: 90 }],
 * });
 * await probe.measure(); // { rttMs: 0.5 }
 * ```
 */
export function replayProbe(clock: Clock, config: ReplayOptions): Probe {
  const startMs = clock.now();
  const totalMs = config.steps.reduce((sum, step) => sum + step.durationMs, 0);
  const random = seededRandom(config.seed);
  return {
    name: config.name,
    measure(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      let elapsedMs = clock.now() - startMs;
      if (config.loop) elapsedMs %= totalMs;
      let step = config.steps[config.steps.length - 1];
      for (let acc = 0, i = 0; i < config.steps.length; i++) {
        acc += config.steps[i].durationMs;
        if (elapsedMs < acc) {
          step = config.steps[i];
          break;
        }
      }
      const jitter = () => 1 + random.between(-config.jitterRatio, config.jitterRatio);
      const sample: NetworkSample = {};
      if (step.rttMs !== undefined) sample.rttMs = step.rttMs * jitter();
      if (step.bandwidthMbps !== undefined) sample.bandwidthMbps = step.bandwidthMbps * jitter();
      if (step.lossRatio !== undefined) sample.lossRatio = step.lossRatio;
      return Promise.resolve(sample);
    },
  };
}

/** The plugin. */
const plugin: Plugin<"probe", ReplayOptions, Probe> = builtinPlugin({
  id: "probe-replay",
  kind: "probe",
  description: "Replays a network timeline on the clock.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["probe:replay"],
  options,
  create: (context, config) => replayProbe(context.clock, config),
});
export default plugin;
