/**
 * The manager's configuration: a valibot schema with the design's defaults,
 * and {@linkcode resolveConfig} that validates and fills it in.
 *
 * @module
 */
import * as v from "valibot";
import type { FieldIssue } from "../util/errors.ts";
import { ValidationError } from "../util/errors.ts";
import { MODES } from "../contracts/mode.ts";
import type { Mode } from "../contracts/mode.ts";
import { toFieldIssues } from "../util/validation.ts";

/** The values of {@linkcode HybridConfig.linkModes}. */
export const LINK_MODE_SCOPES = ["global", "per-peer"] as const;

/** How per-link components choose their mode: see {@linkcode HybridConfig.linkModes}. */
export type LinkModeScope = typeof LINK_MODE_SCOPES[number];

const positiveMs = (fallback: number) =>
  v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0, "must be greater than 0")), fallback);
const nonNegativeMs = (fallback: number) =>
  v.optional(v.pipe(v.number(), v.finite(), v.minValue(0, "must be 0 or more")), fallback);
const ratio = (fallback: number) =>
  v.optional(
    v.pipe(v.number(), v.finite(), v.minValue(0, "must be 0 or more"), v.maxValue(1, "must be at most 1")),
    fallback,
  );
const count = (fallback: number, min: number, max: number) =>
  v.optional(
    v.pipe(
      v.number(),
      v.integer("must be a whole number"),
      v.minValue(min, `must be at least ${min}`),
      v.maxValue(max, `must be at most ${max}`),
    ),
    fallback,
  );

/**
 * The configuration schema. Unknown keys are rejected, so a typo such as
 * `cooldown` instead of `cooldownMs` fails loudly instead of being ignored.
 */
export const HybridConfigSchema: v.GenericSchema<
  HybridConfigInput,
  Omit<HybridConfig, "probeTimeoutMs"> & { probeTimeoutMs?: number }
> = v.strictObject({
  /** Master switch: when false the manager never detects nor switches on its own. */
  enabled: v.optional(v.boolean(), true),
  /** Run the periodic detection loop. */
  autoDetect: v.optional(v.boolean(), true),
  /** How often all probes are measured. */
  detectionIntervalMs: positiveMs(10_000),
  /** Upper bound of one probe measurement; must not exceed the interval. Default: 5 s or the interval if shorter. */
  probeTimeoutMs: v.optional(v.pipe(v.number(), v.finite(), v.gtValue(0, "must be greater than 0"))),
  /** Datacenter needs RTT below this. */
  datacenterLatencyThresholdMs: positiveMs(10),
  /** Datacenter needs bandwidth above this. */
  datacenterBandwidthThresholdMbps: positiveMs(1_000),
  /** Internet when RTT is above this. */
  internetLatencyThresholdMs: positiveMs(50),
  /** Internet when bandwidth is below this. */
  internetBandwidthThresholdMbps: positiveMs(1_000),
  /** Datacenter needs loss at most this (a ratio, 0.001 = 0.1 %). */
  datacenterLossThreshold: ratio(0.001),
  /** Internet when loss is above this (a ratio, 0.01 = 1 %). */
  internetLossThreshold: ratio(0.01),
  /** Fraction of a threshold by which a measure must cross it to change mode. */
  hysteresis: v.optional(
    v.pipe(v.number(), v.finite(), v.minValue(0, "must be 0 or more"), v.maxValue(0.5, "must be at most 0.5")),
    0.1,
  ),
  /** No automatic switch within this long after the previous switch. */
  cooldownMs: nonNegativeMs(30_000),
  /** Drain outgoing implementations before deactivating them. */
  gracefulTransition: v.optional(v.boolean(), true),
  /** Upper bound of one drain. */
  drainTimeoutMs: nonNegativeMs(10_000),
  /** Upper bound of one `activate()` or mode-change callback; beyond it the switch rolls back. */
  activateTimeoutMs: positiveMs(30_000),
  /** How long a switch waits for the cluster's agreement (when a component carries one) before recording it pending. */
  agreementTimeoutMs: nonNegativeMs(5_000),
  /** Decisions use the median of this many most recent values per measure. */
  sampleWindow: count(5, 1, 1_000),
  /** Mode before the first decision. */
  initialMode: v.optional(v.picklist(MODES, `must be one of ${MODES.join(", ")}`), "hybrid" as Mode),
  /** Window of the flapping alarm. */
  flapWindowMs: positiveMs(300_000),
  /** More switches than this within `flapWindowMs` raise the flapping alarm. */
  flapMaxSwitches: count(3, 1, 1_000_000),
  /** How many switch records `getStats().history` keeps. */
  historyLimit: count(100, 1, 100_000),
  /** `global`: every link follows the node's mode; `per-peer`: each link is classified on its own measurements. */
  linkModes: v.optional(v.picklist(LINK_MODE_SCOPES, `must be one of ${LINK_MODE_SCOPES.join(", ")}`), "global"),
});

/** A complete, validated configuration. Every field is documented on {@linkcode HybridConfigSchema}. */
export interface HybridConfig {
  /** Master switch: when false the manager never detects nor switches on its own. */
  readonly enabled: boolean;
  /** Run the periodic detection loop. */
  readonly autoDetect: boolean;
  /** How often all probes are measured. */
  readonly detectionIntervalMs: number;
  /** Upper bound of one probe measurement; must not exceed the interval (default: 5 s, or the interval if shorter). */
  readonly probeTimeoutMs: number;
  /** Datacenter needs RTT below this. */
  readonly datacenterLatencyThresholdMs: number;
  /** Datacenter needs bandwidth above this. */
  readonly datacenterBandwidthThresholdMbps: number;
  /** Internet when RTT is above this. */
  readonly internetLatencyThresholdMs: number;
  /** Internet when bandwidth is below this. */
  readonly internetBandwidthThresholdMbps: number;
  /** Datacenter needs loss at most this (a ratio, 0.001 = 0.1 %). */
  readonly datacenterLossThreshold: number;
  /** Internet when loss is above this (a ratio, 0.01 = 1 %). */
  readonly internetLossThreshold: number;
  /** Fraction of a threshold by which a measure must cross it to change mode. */
  readonly hysteresis: number;
  /** No automatic switch within this long after the previous switch attempt. */
  readonly cooldownMs: number;
  /** Drain outgoing implementations before deactivating them. */
  readonly gracefulTransition: boolean;
  /** Upper bound of one drain. */
  readonly drainTimeoutMs: number;
  /** Upper bound of one `activate()` or mode-change callback; beyond it the switch rolls back. */
  readonly activateTimeoutMs: number;
  /**
   * How long a switch waits for the cluster's agreement on the new mode,
   * when a component carries one (`ModeAgreement`: the adaptive consensus
   * engine). Local components switch regardless; the switch record says
   * whether the cluster agreed in time.
   */
  readonly agreementTimeoutMs: number;
  /** Decisions use the median of this many most recent values per measure. */
  readonly sampleWindow: number;
  /** Mode before the first decision. */
  readonly initialMode: Mode;
  /** Window of the flapping alarm. */
  readonly flapWindowMs: number;
  /** More mode changes than this within `flapWindowMs` raise the flapping alarm. */
  readonly flapMaxSwitches: number;
  /** How many switch records `getStats().history` keeps. */
  readonly historyLimit: number;
  /**
   * How per-link components (a link's compressor or transport) choose their
   * mode: `global`, the node's mode for every link; `per-peer`, each link's
   * own, classified on the probes' per-peer measurements with the same
   * thresholds, hysteresis, window and cooldown (`getStats().links`). The
   * consensus engine stays cluster-wide either way.
   */
  readonly linkModes: LinkModeScope;
}

/** What callers pass: any subset of {@linkcode HybridConfig}. */
export type HybridConfigInput = Partial<HybridConfig>;

function crossFieldIssues(config: HybridConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (config.datacenterLatencyThresholdMs > config.internetLatencyThresholdMs) {
    issues.push({
      path: "datacenterLatencyThresholdMs",
      message: `must not exceed internetLatencyThresholdMs (${config.internetLatencyThresholdMs})`,
    });
  }
  if (config.internetBandwidthThresholdMbps > config.datacenterBandwidthThresholdMbps) {
    issues.push({
      path: "internetBandwidthThresholdMbps",
      message: `must not exceed datacenterBandwidthThresholdMbps (${config.datacenterBandwidthThresholdMbps})`,
    });
  }
  if (config.datacenterLossThreshold > config.internetLossThreshold) {
    issues.push({
      path: "datacenterLossThreshold",
      message: `must not exceed internetLossThreshold (${config.internetLossThreshold})`,
    });
  }
  if (config.probeTimeoutMs > config.detectionIntervalMs) {
    issues.push({
      path: "probeTimeoutMs",
      message: `must not exceed detectionIntervalMs (${config.detectionIntervalMs})`,
    });
  }
  return issues;
}

/**
 * Validates `input` and fills in defaults. Throws a {@linkcode ValidationError}
 * (code `CONFIG_INVALID`) naming every bad key and why.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const config = resolveConfig({ cooldownMs: 5_000 });
 * config.detectionIntervalMs; // 10000, the default
 * ```
 */
export function resolveConfig(input: HybridConfigInput = {}): HybridConfig {
  const result = v.safeParse(HybridConfigSchema, input ?? {}, { abortEarly: false });
  if (!result.success) {
    throw new ValidationError("CONFIG_INVALID", "HybridManager config", toFieldIssues(result.issues));
  }
  const config = {
    ...result.output,
    probeTimeoutMs: result.output.probeTimeoutMs ?? Math.min(5_000, result.output.detectionIntervalMs),
  };
  const issues = crossFieldIssues(config);
  if (issues.length > 0) throw new ValidationError("CONFIG_INVALID", "HybridManager config", issues);
  return Object.freeze(config);
}
