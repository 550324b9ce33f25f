/**
 * Mode detection: a pure function of the median sample, the current mode and
 * the thresholds, with hysteresis so that a node only leaves a mode when a
 * measure clearly crosses its boundary.
 *
 * @module
 */
import type { HybridConfig } from "./config.ts";
import { Mode } from "../contracts/mode.ts";
import type { NetworkSample } from "../contracts/sample.ts";
import { SampleWindow } from "../contracts/sample.ts";

/** The thresholds the detector reads from the config. */
export type Thresholds = Pick<
  HybridConfig,
  | "datacenterLatencyThresholdMs"
  | "datacenterBandwidthThresholdMbps"
  | "internetLatencyThresholdMs"
  | "internetBandwidthThresholdMbps"
  | "datacenterLossThreshold"
  | "internetLossThreshold"
  | "hysteresis"
>;

/** What the detector concluded, and why. */
export interface Decision {
  /** The mode the sample calls for. */
  mode: Mode;
  /** A one-line human-readable explanation naming the measures and limits. */
  reason: string;
  /** The median sample the decision was made from. */
  sample: NetworkSample;
}

const round = (value: number) => Number(value.toPrecision(4));

type Check = { ok: boolean; text: string };

function above(name: string, value: number | undefined, limit: number): Check {
  if (value === undefined) return { ok: false, text: `${name} not measured` };
  return value > limit
    ? { ok: true, text: `${name} ${round(value)} > ${round(limit)}` }
    : { ok: false, text: `${name} ${round(value)} <= ${round(limit)}` };
}

function below(name: string, value: number | undefined, limit: number, orEqual = false): Check {
  if (value === undefined) return { ok: false, text: `${name} not measured` };
  const ok = orEqual ? value <= limit : value < limit;
  const sign = ok ? (orEqual ? "<=" : "<") : (orEqual ? ">" : ">=");
  return { ok, text: `${name} ${round(value)} ${sign} ${round(limit)}` };
}

/**
 * Classifies a (median) sample given the mode the node is in now.
 *
 * Internet wins when any measure is bad enough; datacenter needs every
 * measure good; hybrid is the rest. Leaving the current mode requires
 * crossing a boundary by `hysteresis` of its threshold: with 0.1 and the
 * defaults a datacenter node leaves only when RTT > 11 ms or bandwidth
 * < 900 Mbps, and a node enters datacenter only when RTT < 9 ms and
 * bandwidth > 1100 Mbps.
 *
 * @example
 * ```ts
 * import { classify } from "./detector.ts";
 * import { resolveConfig } from "./config.ts";
 * const decision = classify({ rttMs: 80, bandwidthMbps: 100, lossRatio: 0 }, "datacenter", resolveConfig());
 * decision.mode; // "internet"
 * ```
 */
export function classify(sample: NetworkSample, current: Mode, thresholds: Thresholds): Decision {
  const h = thresholds.hysteresis;
  // A limit that is easier to satisfy when it keeps the node where it is.
  const stay = (keeps: boolean, threshold: number, direction: 1 | -1) => threshold * (1 + direction * (keeps ? h : -h));

  const inInternet = current === Mode.Internet;
  const internetChecks = [
    above("rttMs", sample.rttMs, stay(inInternet, thresholds.internetLatencyThresholdMs, -1)),
    below("bandwidthMbps", sample.bandwidthMbps, stay(inInternet, thresholds.internetBandwidthThresholdMbps, 1)),
    above("lossRatio", sample.lossRatio, stay(inInternet, thresholds.internetLossThreshold, -1)),
  ];
  const internetCauses = internetChecks.filter((check) => check.ok);
  if (internetCauses.length > 0) {
    return {
      mode: Mode.Internet,
      reason: `internet: ${internetCauses.map((check) => check.text).join(", ")}`,
      sample,
    };
  }

  const inDatacenter = current === Mode.Datacenter;
  const datacenterChecks = [
    below("rttMs", sample.rttMs, stay(inDatacenter, thresholds.datacenterLatencyThresholdMs, 1)),
    above(
      "bandwidthMbps",
      sample.bandwidthMbps,
      stay(inDatacenter, thresholds.datacenterBandwidthThresholdMbps, -1),
    ),
    below("lossRatio", sample.lossRatio, stay(inDatacenter, thresholds.datacenterLossThreshold, 1), true),
  ];
  if (datacenterChecks.every((check) => check.ok)) {
    return {
      mode: Mode.Datacenter,
      reason: `datacenter: ${datacenterChecks.map((check) => check.text).join(", ")}`,
      sample,
    };
  }
  const failed = datacenterChecks.filter((check) => !check.ok).map((check) => check.text);
  return { mode: Mode.Hybrid, reason: `hybrid: not datacenter (${failed.join(", ")}), not internet`, sample };
}

/**
 * Holds the rolling sample window and decides from its medians.
 *
 * @example
 * ```ts
 * import { ModeDetector } from "./detector.ts";
 * import { resolveConfig } from "./config.ts";
 * const detector = new ModeDetector(resolveConfig({ sampleWindow: 3 }));
 * detector.observe({ rttMs: 1, bandwidthMbps: 10_000, lossRatio: 0 });
 * detector.decide("hybrid")?.mode; // "datacenter"
 * ```
 */
export class ModeDetector {
  readonly #thresholds: Thresholds;
  readonly #window: SampleWindow;

  /** Creates a detector with the given thresholds and window size. */
  constructor(config: Thresholds & { sampleWindow: number }) {
    this.#thresholds = { ...config };
    this.#window = new SampleWindow(config.sampleWindow);
  }

  /** Adds a sample to the window. */
  observe(sample: NetworkSample): void {
    this.#window.push(sample);
  }

  /** The medians of the window. */
  summary(): NetworkSample {
    return this.#window.medians();
  }

  /** Decides from the medians, or returns `undefined` when nothing has been measured yet. */
  decide(current: Mode): Decision | undefined {
    if (this.#window.empty) return undefined;
    return classify(this.#window.medians(), current, this.#thresholds);
  }

  /** Forgets all samples. */
  reset(): void {
    this.#window.clear();
  }
}
