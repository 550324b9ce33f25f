/**
 * Gradual transitions: the steps a per-link switch moves traffic in, how
 * long each is held, and the health rule that decides, at the end of each
 * hold, whether the new path may take more or the whole switch rolls back.
 * Pure functions of what the connection measured (`steered.ts` measures).
 *
 * @module
 */
import * as v from "valibot";
import { parseOrThrow } from "../../core/util/validation.ts";

const positive = (fallback: number) => v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0)), fallback);

/** The options of a gradual switch, with their defaults filled in. Each field is described on the schema. */
export interface GradualOptions {
  /** The share of frames the new path carries at each step, increasing, the last 1. */
  steps: number[];
  /** How long each step is held while its health is watched, ms. */
  holdMs: number;
  /** The new path's median acknowledgement latency may be at most this multiple of the old path's, plus `latencySlackMs`. */
  maxLatencyRatio: number;
  /** Latency allowed on top of the ratio, ms. */
  latencySlackMs: number;
  /** A frame the new path has not delivered within this long counts against it, ms. */
  ackTimeoutMs: number;
  /** The new path's delivered share of what it was given must be at least this multiple of the old path's. */
  minDeliveryRatio: number;
}

/** The options as given: any subset of {@linkcode GradualOptions}. */
export type GradualOptionsInput = Partial<GradualOptions>;

/**
 * The steps of a gradual transition: shares of the traffic, each in (0, 1],
 * increasing, the last 1 (the whole traffic); 10 %, 50 %, 100 % by default.
 * Shared by every per-link component that moves gradually.
 */
export const StepsSchema = v.optional(
  v.pipe(
    v.array(v.pipe(v.number(), v.gtValue(0), v.maxValue(1))),
    v.minLength(1),
    v.maxLength(20),
    v.check((steps) => steps.every((step, i) => i === 0 || step > steps[i - 1]), "must increase"),
    v.check((steps) => steps.at(-1) === 1, "must end at 1 (the whole traffic)"),
  ),
  [0.1, 0.5, 1],
);

/** The options of a gradual switch; every field has a default. */
export const GradualOptionsSchema: v.GenericSchema<GradualOptionsInput, GradualOptions> = v.strictObject({
  /** The share of frames the new path carries at each step, increasing, the last 1 (default 10 %, 50 %, 100 %). */
  steps: StepsSchema,
  /** How long each step is held while its health is watched, ms. */
  holdMs: positive(1_000),
  /** The new path's median acknowledgement latency may be at most this multiple of the old path's, plus `latencySlackMs`. */
  maxLatencyRatio: positive(3),
  /** Latency allowed on top of the ratio, ms (so two fast paths' noise is no degradation). */
  latencySlackMs: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0)), 5),
  /** A frame the new path has not delivered within this long counts against it, ms. */
  ackTimeoutMs: positive(1_000),
  /** The new path's delivered share of what it was given must be at least this multiple of the old path's. */
  minDeliveryRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.95),
});

/** Checks gradual options; throws `INVALID_ARGUMENT` naming each bad field. */
export function resolveGradualOptions(input: GradualOptionsInput = {}): GradualOptions {
  return parseOrThrow(GradualOptionsSchema, input, "gradual switch options");
}

/** What one path did during a step. */
export interface PathHealth {
  /** Frames it was given during the step. */
  sent: number;
  /** Of those, how many it delivered (acknowledged on it). */
  delivered: number;
  /** Of those not delivered, how many are older than `ackTimeoutMs`. */
  overdue: number;
  /** The median time from sending a frame to its acknowledgement, ms (undefined with none acknowledged). */
  medianAckMs?: number;
  /** Send failures or the path closing under the connection. */
  errors: number;
}

/** The verdict on a step. */
export interface StepVerdict {
  /** True when the new path may take the next step. */
  healthy: boolean;
  /** Why, naming the measures and limits. */
  reason: string;
}

const ms = (value: number) => `${Number(value.toPrecision(3))} ms`;

/**
 * Judges a step, once the new path's frames of it are settled (each
 * delivered, or overdue): the new path must have no errors, deliver at least
 * `minDeliveryRatio` of the share of its frames the old path delivers (a
 * stalled path delivers none; a lossy network hurts both), and answer with a
 * median acknowledgement latency at most `maxLatencyRatio` × the old path's
 * + `latencySlackMs`. A step that carried no frames has nothing against it.
 *
 * @example
 * ```ts
 * import { judgeStep, resolveGradualOptions } from "./gradual.ts";
 * const rule = resolveGradualOptions();
 * const old = { sent: 90, delivered: 90, overdue: 0, medianAckMs: 2, errors: 0 };
 * judgeStep(old, { sent: 10, delivered: 10, overdue: 0, medianAckMs: 40, errors: 0 }, rule).healthy; // false
 * ```
 */
export function judgeStep(old: PathHealth, candidate: PathHealth, rule: GradualOptions): StepVerdict {
  if (candidate.errors > 0) return { healthy: false, reason: `the new path failed (${candidate.errors} errors)` };
  // Frames still in flight and younger than ackTimeoutMs count neither way.
  const settled = (health: PathHealth) => health.delivered + health.overdue;
  if (settled(candidate) === 0) return { healthy: true, reason: "no frames in this step" };
  const share = (health: PathHealth) => settled(health) === 0 ? 1 : health.delivered / settled(health);
  const [newShare, oldShare] = [share(candidate), share(old)];
  if (newShare < oldShare * rule.minDeliveryRatio) {
    return {
      healthy: false,
      reason: `the new path delivered ${percent(newShare)} of its frames within ${ms(rule.ackTimeoutMs)}, the old ${
        percent(oldShare)
      } (at least ${percent(oldShare * rule.minDeliveryRatio)} needed)`,
    };
  }
  if (candidate.medianAckMs !== undefined && old.medianAckMs !== undefined) {
    const limit = old.medianAckMs * rule.maxLatencyRatio + rule.latencySlackMs;
    if (candidate.medianAckMs > limit) {
      return {
        healthy: false,
        reason: `the new path's median latency ${ms(candidate.medianAckMs)} > ${ms(limit)} (old ${
          ms(old.medianAckMs)
        } × ${rule.maxLatencyRatio} + ${ms(rule.latencySlackMs)})`,
      };
    }
  }
  const latency = candidate.medianAckMs === undefined ? "" : `, median latency ${ms(candidate.medianAckMs)}`;
  return { healthy: true, reason: `the new path delivered ${candidate.delivered} of ${candidate.sent}${latency}` };
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
