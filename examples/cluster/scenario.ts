/**
 * Scenarios: how the emulated links between the nodes change over time, as
 * phases of fixed length. Built-in ones by name, or a JSON file of the same
 * shape, validated field by field:
 *
 * ```json
 * { "phases": [
 *   { "name": "rack", "seconds": 20, "rttMs": 0.2, "bandwidthMbps": 0 },
 *   { "name": "degraded WAN", "seconds": 25, "rttMs": 120, "jitterMs": 5, "bandwidthMbps": 40, "lossRatio": 0.02 }
 * ] }
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { classify, type HybridConfig, type Mode, ValidationError } from "@switchyard/hybrid";
import type { LinkConditions } from "./links.ts";

const PhaseSchema = v.strictObject({
  /** What the phase stands for, for the output. */
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  /** How long it lasts. */
  seconds: v.pipe(v.number(), v.gtValue(0), v.maxValue(86_400)),
  /** The round trip between any two nodes, ms. */
  rttMs: v.pipe(v.number(), v.minValue(0), v.maxValue(10_000)),
  /** ± jitter of each direction, ms. */
  jitterMs: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(10_000))),
  /** Bandwidth of every link, Mbit/s (0: unlimited). */
  bandwidthMbps: v.pipe(v.number(), v.minValue(0)),
  /** Share of segments lost once and retransmitted. */
  lossRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
});

/** The schema of a scenario file. */
export const ScenarioSchema = v.strictObject({
  /** The phases, in order; after the last the scenario starts again from the first. */
  phases: v.pipe(v.array(PhaseSchema), v.minLength(1, "needs at least one phase")),
});

/** One phase of a scenario. */
export type ScenarioPhase = v.InferOutput<typeof PhaseSchema>;

/** A scenario, validated. */
export interface Scenario {
  /** Its name (a built-in's, or the file's path). */
  name: string;
  /** The phases in order. */
  phases: ScenarioPhase[];
}

/** The links the built-in scenarios are made of (the benchmark uses them too). */
export const LINKS = {
  /** A rack: 0.2 ms round trips, no bandwidth limit. */
  rack: { rttMs: 0.2, bandwidthMbps: 0 },
  /** A degraded WAN: 120 ms ± 5, 40 Mbit/s, 2 % loss. */
  wan: { rttMs: 120, jitterMs: 5, bandwidthMbps: 40, lossRatio: 0.02 },
  /** A metro link: 20 ms ± 1, 500 Mbit/s. */
  metro: { rttMs: 20, jitterMs: 1, bandwidthMbps: 500 },
} as const satisfies Record<string, LinkConditions>;

/** The built-in scenarios, by name. */
export const BUILTIN_SCENARIOS: Readonly<Record<string, ScenarioPhase[]>> = {
  /** A rack, a degraded WAN, a metro link, the rack again: every mode, both engines. */
  tour: [
    { name: "rack", seconds: 20, ...LINKS.rack },
    { name: "degraded WAN", seconds: 25, ...LINKS.wan },
    { name: "metro link", seconds: 25, ...LINKS.metro },
    { name: "rack again", seconds: 20, ...LINKS.rack },
  ],
  /** The same tour with shorter phases (for tests and a first look). */
  quick: [
    { name: "rack", seconds: 8, ...LINKS.rack },
    { name: "degraded WAN", seconds: 12, ...LINKS.wan },
    { name: "metro link", seconds: 12, ...LINKS.metro },
    { name: "rack again", seconds: 12, ...LINKS.rack },
  ],
  /** A rack throughout: nothing should switch. */
  rack: [{ name: "rack", seconds: 60, ...LINKS.rack }],
};

/**
 * The scenario `nameOrPath` names: a built-in one, or a JSON file. A file
 * that is not JSON or does not fit is refused (`CONFIG_INVALID`) naming
 * every bad field.
 */
export async function loadScenario(nameOrPath: string): Promise<Scenario> {
  const builtin = BUILTIN_SCENARIOS[nameOrPath];
  if (builtin) return { name: nameOrPath, phases: builtin.map((phase) => ({ ...phase })) };
  let text: string;
  try {
    text = await readFile(nameOrPath, "utf8");
  } catch (error) {
    const names = Object.keys(BUILTIN_SCENARIOS).join(", ");
    throw new ValidationError("CONFIG_INVALID", "--scenario", [{
      path: "",
      message: `"${nameOrPath}" is neither a built-in scenario (${names}) nor a readable file: ${
        (error as Error).message
      }`,
    }]);
  }
  return { name: nameOrPath, phases: parseScenario(text, nameOrPath).phases };
}

/** Parses and validates a scenario file's text. */
export function parseScenario(text: string, source = "scenario"): v.InferOutput<typeof ScenarioSchema> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError("CONFIG_INVALID", source, [{
      path: "",
      message: `not JSON: ${(error as Error).message}`,
    }]);
  }
  const result = v.safeParse(ScenarioSchema, parsed, { abortEarly: false });
  if (!result.success) {
    const issues = result.issues.map((issue) => ({ path: v.getDotPath(issue) ?? "", message: issue.message }));
    throw new ValidationError("CONFIG_INVALID", source, issues);
  }
  return result.output;
}

/** The link conditions of a phase. */
export function phaseLink(phase: ScenarioPhase): LinkConditions {
  return {
    rttMs: phase.rttMs,
    jitterMs: phase.jitterMs ?? 0,
    bandwidthMbps: phase.bandwidthMbps,
    lossRatio: phase.lossRatio ?? 0,
  };
}

/**
 * The mode each phase should bring the cluster to, by the detector's own
 * rules and thresholds, starting from `initial` (hysteresis depends on where
 * the cluster is). An unlimited link counts as far above any threshold.
 * Loss is left out: over TCP a lost segment only arrives late, and the
 * probes see that as a slower round trip, not as a loss.
 */
export function expectedModes(phases: readonly ScenarioPhase[], thresholds: HybridConfig, initial: Mode): Mode[] {
  const modes: Mode[] = [];
  let current = initial;
  for (const phase of phases) {
    const bandwidthMbps = phase.bandwidthMbps > 0 ? phase.bandwidthMbps : Number.MAX_SAFE_INTEGER;
    current = classify({ rttMs: phase.rttMs, bandwidthMbps, lossRatio: 0 }, current, thresholds).mode;
    modes.push(current);
  }
  return modes;
}
