/**
 * Scenarios: how the emulated links between the nodes change over time, as
 * phases of fixed length. Built-in ones by name, or a JSON file of the same
 * shape, validated field by field:
 *
 * ```json
 * { "phases": [
 *   { "name": "rack", "seconds": 20, "rttMs": 0.2, "bandwidthMbps": 0 },
 *   { "name": "degraded WAN", "seconds": 25, "rttMs": 120, "jitterMs": 5, "bandwidthMbps": 40, "lossRatio": 0.02 },
 *   { "name": "two racks", "seconds": 25, "rttMs": 0.2, "bandwidthMbps": 0, "expect": "internet",
 *     "split": { "racks": [["n1", "n2"], ["n3", "n4"]], "wan": { "rttMs": 120, "bandwidthMbps": 40 } } }
 * ] }
 * ```
 *
 * A phase's own link is every link's; with `split`, the links inside each
 * rack, while links between racks take `wan`. Where the cluster's mode is
 * not a plain classification of one link (a split), `expect` says it.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { classify, type HybridConfig, type Mode, MODES, ValidationError } from "@switchyard/hybrid";
import type { LinkConditions } from "./links.ts";

/** A link's conditions. */
const LINK_FIELDS = {
  /** The round trip between two nodes, ms. */
  rttMs: v.pipe(v.number(), v.minValue(0), v.maxValue(10_000)),
  /** ± jitter of each direction, ms. */
  jitterMs: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(10_000))),
  /** Bandwidth, Mbit/s (0: unlimited). */
  bandwidthMbps: v.pipe(v.number(), v.minValue(0)),
  /** Share of segments lost once and retransmitted. */
  lossRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1))),
};

const NODE_ID = v.pipe(v.string(), v.regex(/^n[1-9][0-9]*$/, "must be a node id, n1, n2, …"));

const PhaseSchema = v.strictObject({
  /** What the phase stands for, for the output. */
  name: v.pipe(v.string(), v.minLength(1), v.maxLength(64)),
  /** How long it lasts. */
  seconds: v.pipe(v.number(), v.gtValue(0), v.maxValue(86_400)),
  /** Every link's conditions (with `split`, those inside each rack). */
  ...LINK_FIELDS,
  /** Two or more racks: links between them take `wan`. */
  split: v.optional(v.strictObject({
    racks: v.pipe(
      v.array(v.pipe(v.array(NODE_ID), v.minLength(1))),
      v.minLength(2, "needs at least two racks"),
      v.check((racks) => new Set(racks.flat()).size === racks.flat().length, "a node is in one rack only"),
    ),
    wan: v.strictObject(LINK_FIELDS),
  })),
  /** The cluster's mode this phase should bring, where a plain classification of its link cannot say (a split). */
  expect: v.optional(v.picklist(MODES, `must be one of ${MODES.join(", ")}`)),
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
  /**
   * Two racks of two joined by a degraded WAN: each node's quorum of peers
   * crosses the WAN, so the cluster runs internet (PBFT); with per-peer link
   * modes the rack links stay on datacenter components meanwhile.
   */
  split: [
    { name: "one rack", seconds: 10, ...LINKS.rack },
    {
      name: "two racks over a WAN",
      seconds: 25,
      ...LINKS.rack,
      split: { racks: [["n1", "n2"], ["n3", "n4"]], wan: LINKS.wan },
      expect: "internet",
    },
    { name: "one rack again", seconds: 15, ...LINKS.rack },
  ],
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

/** The link conditions of a phase (or of its split's WAN), with the defaults filled in. */
export function phaseLink(
  phase: Pick<ScenarioPhase, "rttMs" | "jitterMs" | "bandwidthMbps" | "lossRatio">,
): LinkConditions {
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
    current = phase.expect ?? classifyLink(phase, current, thresholds);
    modes.push(current);
  }
  return modes;
}

/** What a link's conditions classify as (loss left out, as in {@linkcode expectedModes}), from `current`. */
function classifyLink(link: LinkConditions, current: Mode, thresholds: HybridConfig): Mode {
  const bandwidthMbps = link.bandwidthMbps > 0 ? link.bandwidthMbps : Number.MAX_SAFE_INTEGER;
  return classify({ rttMs: link.rttMs, bandwidthMbps, lossRatio: 0 }, current, thresholds).mode;
}

/** The mode each link of a phase should take with per-peer link modes: inside a rack, and between racks. */
export interface LinkExpectation {
  /** Links inside a rack (every link, without a split). */
  rack: Mode;
  /** Links between racks, in a split. */
  wan?: Mode;
}

/** Each phase's {@linkcode LinkExpectation}, starting from `initial` (each kind of link keeps its own hysteresis). */
export function expectedLinkModes(
  phases: readonly ScenarioPhase[],
  thresholds: HybridConfig,
  initial: Mode,
): LinkExpectation[] {
  let [rack, wan] = [initial, initial];
  return phases.map((phase) => {
    rack = classifyLink(phase, rack, thresholds);
    wan = classifyLink(phase.split?.wan ?? phase, wan, thresholds);
    return phase.split ? { rack, wan } : { rack };
  });
}

/** The rack of each node in a split phase, by node id (undefined without a split). */
export function racksOf(phase: ScenarioPhase): Map<string, number> | undefined {
  if (!phase.split) return undefined;
  return new Map(phase.split.racks.flatMap((rack, index) => rack.map((id) => [id, index] as [string, number])));
}
