/**
 * The local cluster (`examples/cluster/`, what `deno task start` runs):
 * four node processes behind emulated links, real probes, the adaptive
 * consensus, under 16 closed-loop key-value clients the whole time.
 *
 * - **memory**: each node's peak resident memory after 15 s on a rack at
 *   the rate the clients reach (the mark: 1,000 commits per second),
 *   beside the same node's peak when idle, measured first;
 * - **link change → mode on every node**: the links turn from a rack to a
 *   degraded WAN and back, three times each way, past the cluster's
 *   cooldown; the time from the change until every node serves the new mode
 *   on its engine, against the bound `(sampleWindow + 1) ×
 *   detectionIntervalMs`;
 * - **pause of the data path during a switch**: on a rack, an operator's
 *   hold on two nodes moves the cluster Raft → PBFT → Raft, three times each
 *   way; the longest gap between two acknowledged operations from the hold
 *   to 100 ms after every node serves the new engine, against the longest
 *   gap of the quiet stretches between (the baseline);
 *
 * then the whole client history is checked (linearizable, nothing lost,
 * nothing applied twice).
 *
 * @module
 */
import { resolveConfig } from "../core/control/config.ts";
import { CLUSTER_MANAGER_SETTINGS, launchCluster, type LocalCluster } from "../examples/cluster/launch.ts";
import { ClusterWatch, engineFor } from "../examples/cluster/watch.ts";
import { quantile } from "../examples/cluster/report.ts";
import { LINKS } from "../examples/cluster/scenario.ts";
import { startKvLoad } from "../examples/kv/load.ts";
import type { Mode } from "../core/contracts/mode.ts";
import { adminClient } from "../plugins/admin-http/client.ts";
import { fmt, markdownTable } from "./table.ts";

const ROUNDS = 3;
const CLIENTS = 16;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until every node serves `mode` on its engine; returns when that was first seen (`performance.now()`). */
async function servingEverywhere(watch: ClusterWatch, mode: Mode, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    await watch.poll(2_000);
    const now = performance.now();
    const views = [...watch.views.values()];
    if (views.every((view) => view.up && view.agreed?.mode === mode && view.engine === engineFor(mode))) return now;
    if (now > deadline) throw new Error(`the cluster did not reach ${mode} in ${timeoutMs} ms`);
    await wait(50);
  }
}

/** Each node's peak resident memory so far, MiB. */
async function peaks(cluster: LocalCluster): Promise<number[]> {
  return await Promise.all(cluster.members.map(async (m) => ((await cluster.peakMemoryBytes(m.id)) ?? NaN) / 2 ** 20));
}

/** The longest gap, ms, between consecutive acknowledgement times within [fromMs, toMs]. */
function longestGap(acks: readonly number[], fromMs: number, toMs: number): number {
  let previous = fromMs;
  let longest = 0;
  for (const at of acks) {
    if (at < fromMs) continue;
    if (at > toMs) break;
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return Math.max(longest, toMs - previous);
}

/** Runs the benchmark. */
export async function benchCluster(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const cluster = await launchCluster({ initialLink: LINKS.rack });
  const watch = new ClusterWatch(Object.fromEntries(cluster.members.map((m) => [m.id, m.httpUrl])), "datacenter");
  const config = resolveConfig(CLUSTER_MANAGER_SETTINGS);
  const boundMs = (config.sampleWindow + 1) * config.detectionIntervalMs;
  try {
    await servingEverywhere(watch, "datacenter");
    await wait(2_000);
    const idlePeakMiB = await peaks(cluster);

    const load = startKvLoad(cluster.urls, Array.from({ length: CLIENTS }, (_, i) => `client-${i + 1}`), 5_000);
    console.error(`cluster: ${CLIENTS} clients on a rack for 15 s…`);
    const before = load.completed;
    const t0 = performance.now();
    await wait(15_000);
    const opsPerSecond = ((load.completed - before) * 1000) / (performance.now() - t0);
    const loadedPeakMiB = await peaks(cluster);

    const detection: Record<string, number[]> = { "rack → WAN": [], "WAN → rack": [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (
        const [name, link, mode] of [["rack → WAN", LINKS.wan, "internet"], [
          "WAN → rack",
          LINKS.rack,
          "datacenter",
        ]] as const
      ) {
        await wait(4_000); // past the cluster's cooldown (2 s) since its last decision
        console.error(`cluster: links to ${name.split(" → ")[1]} (round ${round + 1} of ${ROUNDS})…`);
        const changedMs = performance.now();
        cluster.links.set(link);
        detection[name].push((await servingEverywhere(watch, mode)) - changedMs);
      }
    }

    // An operator's hold on two nodes (f + 1), through their admin endpoints, as `switchyard mode set` does.
    const admins = cluster.members.slice(0, 2).map((member) => adminClient(member.adminUrl, cluster.token));
    const force = (mode: Mode | null) =>
      Promise.all(admins.map((admin) => mode ? admin.forceMode(mode, "benchmark") : admin.resume()));
    const switches: { name: string; fromMs: number; servedMs: number }[] = [];
    const quiet: [number, number][] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (
        const [name, mode, target] of [["Raft → PBFT", "internet", "internet"], [
          "PBFT → Raft",
          null,
          "datacenter",
        ]] as const
      ) {
        const quietFrom = performance.now();
        await wait(6_000);
        quiet.push([quietFrom + 500, performance.now()]);
        console.error(`cluster: ${name}, held by two nodes (round ${round + 1} of ${ROUNDS})…`);
        const fromMs = performance.now();
        await force(mode);
        switches.push({ name, fromMs, servedMs: await servingEverywhere(watch, target as Mode) });
      }
    }
    await wait(1_000);
    await load.stop();
    await load.check(cluster.urls);
    const acks = load.history.filter((op) => Number.isFinite(op.returnMs)).map((op) => op.returnMs).sort((a, b) =>
      a - b
    );
    const pauses: Record<string, number[]> = { "Raft → PBFT": [], "PBFT → Raft": [] };
    for (const s of switches) pauses[s.name].push(longestGap(acks, s.fromMs, s.servedMs + 100));
    const quietGaps = quiet.map(([from, to]) => longestGap(acks, from, to));
    const allPauses = Object.values(pauses).flat();
    const results = {
      clients: CLIENTS,
      opsPerSecond,
      idlePeakMiB,
      loadedPeakMiB,
      detectionBoundMs: boundMs,
      detectionMs: detection,
      pauseMs: pauses,
      quietGapMs: quietGaps,
      pauseP99Ms: quantile(allPauses, 0.99),
      quietP99Ms: quantile(quietGaps, 0.99),
      history: { operations: load.history.length, acknowledgedPuts: load.acknowledgedPuts, checked: true },
    };
    const rows: (string | number)[][] = [["figure", "ours", "baseline", "ratio", "target"]];
    rows.push([
      `peak memory per node at ${fmt(opsPerSecond)} ops/s (MiB)`,
      loadedPeakMiB.map((v) => fmt(v)).join(" / "),
      `idle ${idlePeakMiB.map((v) => fmt(v)).join(" / ")}`,
      fmt(Math.max(...loadedPeakMiB) / Math.max(...idlePeakMiB)),
      "< 150",
    ]);
    for (const [name, values] of Object.entries(detection)) {
      rows.push([
        `${name}: link change → mode on every node (ms, worst of ${values.length})`,
        fmt(Math.max(...values)),
        `bound ${boundMs}`,
        fmt(Math.max(...values) / boundMs),
        `≤ ${boundMs}`,
      ]);
    }
    for (const [name, values] of Object.entries(pauses)) {
      rows.push([
        `${name}: data-path pause (ms, worst of ${values.length})`,
        fmt(Math.max(...values)),
        `quiet ${fmt(Math.max(...quietGaps))}`,
        fmt(Math.max(...values) / Math.max(...quietGaps)),
        "p99 < 50",
      ]);
    }
    const markdown = markdownTable(rows) +
      `\n\n${CLIENTS} clients, ${load.history.length} operations, history linearizable; ` +
      `pause p99 over all ${allPauses.length} switches ${fmt(results.pauseP99Ms)} ms (quiet p99 ${
        fmt(results.quietP99Ms)
      } ms).`;
    return { markdown, results };
  } finally {
    await cluster.stop();
  }
}
