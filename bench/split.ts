/**
 * The split topology (issue 17): the local cluster's four nodes in two
 * racks of two joined by a WAN link (60 ms ± 1, 200 Mbit/s), under 128
 * closed-loop key-value clients writing 8 KiB documents, once with every
 * link on its node's mode (`linkModes: "global"`: every node is on internet,
 * as its quorum of peers is across the WAN, so every link compresses with
 * zstd) and once with each link on its own (`"per-peer"`: the rack links on
 * datacenter, LZ4; the WAN links on internet, zstd). The consensus is PBFT
 * either way (the cluster's mode is internet). Each is run twice, in the
 * order global, per-peer, per-peer, global, so drift of the machine cancels;
 * the figures are the means of the two runs, the ratio per-peer / global.
 * The history is not checked for linearizability here (128 concurrent
 * clients on five keys are beyond the checker; the cluster section checks
 * its 16 clients'); every call must have succeeded.
 *
 * @module
 */
import { CLUSTER_MANAGER_SETTINGS, launchCluster } from "../examples/cluster/launch.ts";
import { quantile } from "../examples/cluster/report.ts";
import { LINKS } from "../examples/cluster/scenario.ts";
import { startKvLoad } from "../examples/kv/load.ts";
import type { LinkModeScope } from "../core/control/config.ts";
import { fmt, markdownTable } from "./table.ts";

const CLIENTS = 128;
const VALUE_BYTES = 8 * 1024;
const WAN = { rttMs: 60, jitterMs: 1, bandwidthMbps: 200 };
const RACKS = [["n1", "n2"], ["n3", "n4"]];
const SETTLE_MS = 12_000;
const WARM_MS = 5_000;
const MEASURE_MS = 20_000;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface SplitRun {
  linkModes: LinkModeScope;
  opsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** n1's links' modes during the run, by peer. */
  links: Record<string, string>;
  engine: string;
}

/** One run: the split set, the cluster settled, the load measured. */
async function run(linkModes: LinkModeScope): Promise<SplitRun> {
  const cluster = await launchCluster({
    initialLink: LINKS.rack,
    manager: { ...CLUSTER_MANAGER_SETTINGS, linkModes },
  });
  try {
    for (const from of RACKS[0]) for (const to of RACKS[1]) cluster.links.set(WAN, { from, to });
    await wait(SETTLE_MS);
    const status = await (await fetch(`${cluster.urls[0]}/status`)).json();
    const load = startKvLoad(cluster.urls, Array.from({ length: CLIENTS }, (_, i) => `c${i}`), 10_000, {
      valueBytes: VALUE_BYTES,
    });
    await wait(WARM_MS);
    const fromMs = performance.now();
    const before = load.completed;
    await wait(MEASURE_MS);
    const opsPerSecond = ((load.completed - before) * 1000) / (performance.now() - fromMs);
    // Not checked for linearizability: 128 concurrent clients on five keys are beyond the checker (the cluster
    // section checks its 16 clients' history); every client's calls must still have succeeded.
    await load.stop();
    const latencies = load.history.filter((op) => op.callMs >= fromMs && Number.isFinite(op.returnMs)).map((op) =>
      op.returnMs - op.callMs
    );
    return {
      linkModes,
      opsPerSecond,
      p50Ms: quantile(latencies, 0.5) ?? NaN,
      p99Ms: quantile(latencies, 0.99) ?? NaN,
      links: status.links,
      engine: status.engine,
    };
  } finally {
    await cluster.stop();
  }
}

/** Runs the benchmark. */
export async function benchSplit(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const runs: SplitRun[] = [];
  for (const linkModes of ["global", "per-peer", "per-peer", "global"] as const) {
    console.error(`split: ${linkModes} (run ${runs.length + 1} of 4)…`);
    runs.push(await run(linkModes));
  }
  const mean = (modes: LinkModeScope, pick: (run: SplitRun) => number) => {
    const chosen = runs.filter((run) => run.linkModes === modes).map(pick);
    return chosen.reduce((sum, value) => sum + value, 0) / chosen.length;
  };
  const figures = [
    ["writes and reads per second", (run: SplitRun) => run.opsPerSecond],
    ["latency p50 (ms)", (run: SplitRun) => run.p50Ms],
    ["latency p99 (ms)", (run: SplitRun) => run.p99Ms],
  ] as const;
  const rows: (string | number)[][] = [["figure", "per-peer", "global", "ratio"]];
  const results: Record<string, unknown> = { clients: CLIENTS, valueBytes: VALUE_BYTES, wan: WAN, racks: RACKS, runs };
  for (const [name, pick] of figures) {
    const [perPeer, global] = [mean("per-peer", pick), mean("global", pick)];
    rows.push([name, fmt(perPeer), fmt(global), fmt(perPeer / global)]);
    results[name] = { perPeer, global, ratio: perPeer / global };
  }
  const linksOf = (modes: LinkModeScope) => JSON.stringify(runs.find((run) => run.linkModes === modes)!.links);
  const markdown = markdownTable(rows) +
    `\n\n${CLIENTS} clients writing ${VALUE_BYTES / 1024} KiB documents, two racks of two over a ${WAN.rttMs} ms, ` +
    `${WAN.bandwidthMbps} Mbit/s WAN, on ${runs[0].engine}; n1's links: per-peer ${linksOf("per-peer")}, ` +
    `global ${linksOf("global")}. Means of two runs each (global, per-peer, per-peer, global).`;
  return { markdown, results };
}
