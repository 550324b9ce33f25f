/**
 * The main job (`deno task start`): a local cluster of node processes on
 * loopback, every link between two nodes through the user-space link
 * emulator, following a scenario that changes the links over time. Each
 * node measures its links with real probes, reports to the adaptive
 * consensus, and the cluster agrees on its mode and moves between Raft and
 * PBFT while a client workload writes to the replicated key-value store.
 * Every decision is printed with the measurements it was made from, a
 * progress line shows operations per second and every node's mode and
 * engine, and at the end (the scenario's length, `--duration`, Ctrl-C or SIGTERM)
 * a summary: switches, how fast the cluster followed each link change,
 * time in each mode, latency per mode, peak memory, and the check of the
 * whole client history (linearizable, nothing acknowledged lost, nothing
 * applied twice).
 *
 * Run: `deno task start [--nodes 4] [--scenario tour|quick|rack|split|FILE] [--link-modes global|per-peer]
 * [--duration S] [--seed N]`
 * (or `bun examples/cluster/main.ts …`).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { currentRuntime, LINK_MODE_SCOPES, type Mode, resolveConfig, ValidationError } from "@switchyard/hybrid";
import { HELP_OPTION, parseCommandLine, usageError } from "@switchyard/hybrid/cli";
import { startKvLoad } from "../kv/load.ts";
import { CLUSTER_MANAGER_SETTINGS, launchCluster, type LocalCluster } from "./launch.ts";
import {
  BUILTIN_SCENARIOS,
  expectedLinkModes,
  expectedModes,
  type LinkExpectation,
  loadScenario,
  phaseLink,
  racksOf,
  type Scenario,
} from "./scenario.ts";
import { ClusterWatch, type Decision, engineFor, type NodeView } from "./watch.ts";
import {
  describeLink,
  describeLinks,
  describeNode,
  describeSample,
  latenciesByMode,
  quantile,
  stamp,
  timeInModes,
} from "./report.ts";

const USAGE = `usage: deno task start [options]      (or: bun examples/cluster/main.ts [options])

Runs a local cluster whose links follow a scenario, under a client workload, and prints what it does.

options:
  --nodes N          nodes, at least 4 (default 4)
  --scenario NAME    ${Object.keys(BUILTIN_SCENARIOS).join(", ")}, or a JSON file (default tour)
  --duration S       stop after S seconds (default: the scenario's length; it repeats if longer)
  --seed N           seeds the links' jitter and loss (default 1)
  --clients N        client loops of the workload (default 4)
  --link-modes M     global (every link on its node's mode) or per-peer (each link on its own; default global)
  --verbose          show the nodes' warnings
  -h, --help         this text

Ctrl-C (or SIGTERM) stops early, the summary still printed; twice, at once (every node killed).
exit codes: 0 the cluster followed every phase and the history checks; 1 it did not, or failed; 2 bad usage`;

const INITIAL_MODE: Mode = "datacenter";

const { values } = parseCommandLine("start", USAGE, (args) =>
  parseArgs({
    args,
    strict: true,
    options: {
      nodes: { type: "string", default: "4" },
      scenario: { type: "string", default: "tour" },
      duration: { type: "string" },
      seed: { type: "string", default: "1" },
      clients: { type: "string", default: "4" },
      "link-modes": { type: "string", default: "global" },
      verbose: { type: "boolean", default: false },
      ...HELP_OPTION,
    },
  }));

const wholeNumber = (name: string, text: string, min: number) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) usageError("start", `--${name} must be a whole number >= ${min}`);
  return value;
};
const nodes = wholeNumber("nodes", values.nodes, 4);
const seed = wholeNumber("seed", values.seed, 0);
const clients = wholeNumber("clients", values.clients, 1);
let scenario: Scenario;
try {
  scenario = await loadScenario(values.scenario);
} catch (error) {
  usageError("start", error instanceof ValidationError ? error.message : String(error));
}
const scenarioMs = scenario.phases.reduce((total, phase) => total + phase.seconds * 1000, 0);
const durationMs = values.duration === undefined ? scenarioMs : Number(values.duration) * 1000;
if (!(durationMs > 0 && Number.isFinite(durationMs))) usageError("start", "--duration must be a number of seconds > 0");
const linkModes = values["link-modes"];
if (!(LINK_MODE_SCOPES as readonly string[]).includes(linkModes)) {
  usageError("start", `--link-modes must be one of ${LINK_MODE_SCOPES.join(", ")}`);
}
const perPeer = linkModes === "per-peer";
const nodeIds = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
scenario.phases.forEach((phase, index) => {
  const unknown = phase.split?.racks.flat().find((id) => !nodeIds.includes(id));
  if (unknown) usageError("start", `phases.${index}.split.racks: ${unknown} is not one of the ${nodes} nodes`);
});
const thresholds = resolveConfig(CLUSTER_MANAGER_SETTINGS);
const expected = expectedModes(scenario.phases, thresholds, INITIAL_MODE);
const expectedLinks = expectedLinkModes(scenario.phases, thresholds, INITIAL_MODE);

const runtime = currentRuntime() === "bun" ? `Bun ${process.versions.bun}` : `Deno ${process.versions.deno}`;
console.log(
  `Switchyard local cluster: ${nodes} nodes on ${runtime}, scenario "${scenario.name}" ` +
    `(${scenario.phases.length} phases, ${(scenarioMs / 1000).toFixed(0)} s), run ${
      (durationMs / 1000).toFixed(0)
    } s, ` +
    `seed ${seed}, link modes ${linkModes}`,
);
console.log("starting the nodes (each loads its manager from its manifest)…");
let cluster: LocalCluster;
try {
  cluster = await launchCluster({
    size: nodes,
    initialLink: phaseLink(scenario.phases[0]),
    seed,
    manager: { ...CLUSTER_MANAGER_SETTINGS, linkModes },
    log: values.verbose ? (line) => console.error(line) : undefined,
  });
} catch (error) {
  console.error(`start: the cluster did not come up: ${(error as Error).message}`);
  process.exit(1);
}
for (const member of cluster.members) {
  console.log(`  ${member.id}  key-value ${member.httpUrl}   dashboard ${member.adminUrl}/`);
}
console.log(`  admin token: ${cluster.token}`);
console.log(`  try: curl -H "Authorization: Bearer ${cluster.token}" ${cluster.members[0].adminUrl}/stats`);

const startMs = performance.now();
const elapsed = () => performance.now() - startMs;
const isTty = Boolean(process.stdout.isTTY);
let progressShown = false;
const say = (line: string) => {
  if (progressShown) process.stdout.write("\r\x1b[2K");
  progressShown = false;
  console.log(line);
};

// The phases: each sets every link, and says which mode it should bring.
interface PhaseRun {
  index: number;
  startedMs: number;
  expected: Mode;
  followedMs?: number;
  /** With per-peer link modes: what each link should take, and when every node's links had. */
  links?: LinkExpectation;
  linksFollowedMs?: number;
}
const phases: PhaseRun[] = [];
const startPhase = (step: number) => {
  const index = step % scenario.phases.length;
  const phase = scenario.phases[index];
  cluster.links.set(phaseLink(phase));
  const racks = racksOf(phase);
  if (phase.split && racks) {
    for (const from of nodeIds) {
      for (const to of nodeIds) {
        if (from < to && racks.get(from) !== racks.get(to)) cluster.links.set(phaseLink(phase.split.wan), { from, to });
      }
    }
  }
  phases.push({
    index,
    startedMs: performance.now(),
    expected: expected[index],
    ...(perPeer ? { links: expectedLinks[index] } : {}),
  });
  const split = phase.split
    ? ` (inside racks ${phase.split.racks.map((rack) => rack.join("+")).join(" | ")}; between them ${
      describeLink({ ...phase.split.wan, name: "wan", seconds: 0 })
    })`
    : "";
  const links = perPeer ? `; links: ${describeLinks(expectedLinks[index])}` : "";
  say(`${stamp(elapsed())} phase "${phase.name}": ${describeLink(phase)}${split}; expect ${expected[index]}${links}`);
};

/** True when every node's every link is on the mode `run` expects for it. */
const linksFollow = (run: PhaseRun, views: NodeView[]) => {
  const racks = racksOf(scenario.phases[run.index]);
  return views.every((view) =>
    view.up && nodeIds.every((peer) =>
      peer === view.id ||
      view.links?.[peer] ===
        (racks && racks.get(peer) !== racks.get(view.id) ? run.links!.wan : run.links!.rack)
    )
  );
};

const watch = new ClusterWatch(
  Object.fromEntries(cluster.members.map((member) => [member.id, member.httpUrl])),
  INITIAL_MODE,
  {
    decided: (decision: Decision) =>
      say(
        `${stamp(elapsed())} agreed ${decision.from} -> ${decision.agreed.mode}` +
          `${decision.agreed.forced ? " (forced)" : ""} at log index ${decision.agreed.index}: ` +
          `${decision.agreed.reason}; the members' medians: ${describeSample(decision.agreed.summary)}`,
      ),
    settled: (decision: Decision) =>
      say(
        `${stamp(elapsed())} every node serves ${decision.agreed.mode} on ${engineFor(decision.agreed.mode)}, ` +
          `${((decision.settledAtMs! - decision.seenAtMs) / 1000).toFixed(1)} s after the decision`,
      ),
  },
);
const load = startKvLoad(cluster.urls, Array.from({ length: clients }, (_, i) => `client-${i + 1}`), 5_000);

let stopRequested = false;
/** The first Ctrl-C (or SIGTERM) stops in order, with the summary; the second kills every node and quits. */
const onSignal = (name: string) => {
  if (stopRequested) {
    cluster.abort();
    process.exit(130);
  }
  stopRequested = true;
  say(`${stamp(elapsed())} ${name}: stopping (again to quit at once)`);
};
process.on("SIGINT", () => onSignal("Ctrl-C"));
process.on("SIGTERM", () => onSignal("SIGTERM"));

let step = 0;
startPhase(step);
let nextPhaseMs = startMs + scenario.phases[0].seconds * 1000;
let lastCompleted = 0;
let lastProgressMs = startMs;
while (!stopRequested && load.failure === undefined && elapsed() < durationMs) {
  await new Promise((resolve) => setTimeout(resolve, 500));
  await watch.poll();
  const now = performance.now();
  const current = phases.at(-1)!;
  const views = [...watch.views.values()];
  if (
    current.followedMs === undefined &&
    views.every((view) =>
      view.up && view.agreed?.mode === current.expected && view.engine === engineFor(current.expected)
    )
  ) {
    current.followedMs = now - current.startedMs;
  }
  if (current.links && current.linksFollowedMs === undefined && linksFollow(current, views)) {
    current.linksFollowedMs = now - current.startedMs;
    say(`${stamp(elapsed())} every node's links on their modes: ${describeLinks(current.links)}`);
  }
  if (now >= nextPhaseMs && elapsed() < durationMs) {
    step++;
    startPhase(step);
    nextPhaseMs += scenario.phases[step % scenario.phases.length].seconds * 1000;
  }
  if (now - lastProgressMs >= (isTty ? 1_000 : 5_000)) {
    const rate = ((load.completed - lastCompleted) * 1000) / (now - lastProgressMs);
    [lastCompleted, lastProgressMs] = [load.completed, now];
    const line = `${stamp(elapsed())} ${rate.toFixed(0).padStart(5)} ops/s  ${views.map(describeNode).join("  ")}`;
    if (isTty) {
      process.stdout.write(`\r\x1b[2K${line}`);
      progressShown = true;
    } else console.log(line);
  }
}
const endMs = performance.now();

if (load.failure !== undefined) say(`${stamp(elapsed())} a client failed: ${(load.failure as Error).message}`);
say(`${stamp(elapsed())} stopping the workload and checking the history…`);
let retries = 0;
let checked: string;
try {
  retries = await load.stop();
  await load.check(cluster.urls);
  checked = "linearizable; no acknowledged write lost, none applied twice, every client's appends in order";
} catch (error) {
  checked = `FAILED: ${(error as Error).message}`;
}
const memory = await Promise.all(cluster.members.map(async (member) => {
  const bytes = await cluster.peakMemoryBytes(member.id);
  return `${member.id} ${bytes === undefined ? "?" : (bytes / 1024 / 1024).toFixed(0)} MiB`;
}));
await cluster.stop();

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const durations = timeInModes(INITIAL_MODE, watch.decisions, startMs, endMs);
const latencies = latenciesByMode(INITIAL_MODE, watch.decisions, load.history);
const ms = (value: number | undefined) => (value === undefined ? "-" : `${value.toFixed(1)} ms`);
console.log(`\nSummary (${seconds(endMs - startMs)})`);
console.log(
  `  decisions: ${watch.decisions.length}` +
    (watch.decisions.length > 0
      ? ` (${watch.decisions.map((decision) => `${decision.from} -> ${decision.agreed.mode}`).join(", ")})`
      : ""),
);
let allFollowed = true;
for (const run of phases) {
  const phase = scenario.phases[run.index];
  // The last phase may have been cut short (--duration, Ctrl-C) before the cluster could follow it: not a failure.
  const cutShort = run === phases.at(-1) && endMs < run.startedMs + phase.seconds * 1000;
  let verdict = `reached on every node in ${seconds(run.followedMs ?? 0)}`;
  if (run.followedMs === undefined && cutShort) verdict = "not reached before the run ended (cut short)";
  else if (run.followedMs === undefined) {
    verdict = "NOT reached";
    allFollowed = false;
  }
  console.log(`  phase "${phase.name}": expect ${run.expected}, ${verdict}`);
  if (!run.links) continue;
  let links = `reached in ${seconds(run.linksFollowedMs ?? 0)}`;
  if (run.linksFollowedMs === undefined && cutShort) links = "not reached before the run ended (cut short)";
  else if (run.linksFollowedMs === undefined) {
    links = "NOT reached";
    allFollowed = false;
  }
  console.log(`    links ${describeLinks(run.links)}: ${links}`);
}
console.log(
  `  time in mode: ${
    (Object.entries(durations) as [Mode, number][]).map(([mode, time]) => `${mode} ${seconds(time)}`)
      .join(", ")
  }`,
);
console.log(
  `  operations: ${load.completed} (${load.acknowledgedPuts} puts acknowledged, ${load.unknownPuts} unknown, ` +
    `${retries} retries), ${((load.completed * 1000) / (endMs - startMs)).toFixed(0)} ops/s`,
);
for (const [mode, values] of Object.entries(latencies)) {
  if (values.length === 0) continue;
  console.log(
    `  latency in ${mode}: p50 ${ms(quantile(values, 0.5))}, p99 ${ms(quantile(values, 0.99))} (${values.length} ops)`,
  );
}
console.log(`  peak memory: ${memory.join(", ")}`);
console.log(`  history: ${checked}`);
const ok = allFollowed && !checked.startsWith("FAILED");
if (!allFollowed) console.log("  the cluster did not follow every phase (a phase too short, or a busy machine?)");
process.exit(ok ? 0 : 1);
