/**
 * Adaptive-consensus benchmark: what a live switch costs. Four replicas of
 * the adaptive engine in one process, each on its own TCP transport on
 * loopback, under 16 closed-loop writers (client identities, any replica,
 * following `NOT_LEADER`); an operator's hold moves the cluster Raft → PBFT
 * → Raft … every 1.5 s. For each switch:
 *
 * - **switch time**: from the agreed decision (the first replica to apply
 *   the seal) to the new epoch's first commit (the first replica to see one);
 * - **pause**: the longest gap in the writers' stream of acknowledgements
 *   over the switch, from 100 ms before the decision to 100 ms after the
 *   new epoch's first commit (gaps that overlap the switch); beside it, the
 *   longest gap in the quiet stretches between switches, the noise floor of
 *   one process running four replicas and sixteen writers on two cores.
 *
 * Then every acknowledged write must be applied exactly once on every
 * replica (lost and duplicated writes are counted and reported).
 *
 * @module
 */
import type { ConsensusStateMachine } from "../core/contracts/consensus.ts";
import type { SwitchRecord } from "../plugins/consensus-adaptive/mod.ts";
import { startAdaptiveCluster } from "../tests/support/adaptive_cluster.ts";
import { launchKvCluster } from "../examples/kv/cluster.ts";
import { KvHttpClient } from "../examples/kv/client.ts";
import { fmt, markdownTable } from "./table.ts";

const SWITCHES = 20;
const SWITCH_EVERY_MS = 1500;
const WRITERS = 16;

/**
 * Each writer's latest write: a state that stays small, so snapshots (every
 * PBFT checkpoint, every handover) cost the same at the end of the run as at
 * its start. Every application is also counted outside the state, to find
 * lost and repeated writes afterwards (no replica restarts in this run, so
 * each applies every write itself).
 */
class LatestWrites implements ConsensusStateMachine<number> {
  latest = new Map<string, string>();
  applied = new Map<string, number>();
  count = 0;
  apply(command: Uint8Array): number {
    const text = new TextDecoder().decode(command);
    this.latest.set(text.slice(0, text.indexOf("-")), text);
    this.applied.set(text, (this.applied.get(text) ?? 0) + 1);
    return ++this.count;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify([this.count, [...this.latest]]));
  }
  restore(snapshot: Uint8Array): void {
    const [count, latest] = JSON.parse(new TextDecoder().decode(snapshot));
    this.count = count;
    this.latest = new Map(latest);
  }
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

/** Runs the section: the replicas in one process, then as four processes. */
export async function benchAdaptive(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const inProcess = await benchInProcess();
  const processes = await benchProcesses();
  return {
    markdown: `${inProcess.markdown}\n\n${processes.markdown}`,
    results: { inProcess: inProcess.results, processes: processes.results },
  };
}

/** Quantiles of the switch times and pauses per direction, as table rows. */
function directionRows(rows: { direction: string; switchMs: number; pauseMs: number }[]): (string | number)[][] {
  return ["raft → pbft", "pbft → raft"].map((direction) => {
    const mine = rows.filter((row) => row.direction === direction);
    const switchMs = mine.map((row) => row.switchMs);
    const pauseMs = mine.map((row) => row.pauseMs);
    return [
      direction,
      mine.length,
      fmt(quantile(switchMs, 0.5)),
      fmt(quantile(switchMs, 0.99)),
      fmt(quantile(pauseMs, 0.5)),
      fmt(quantile(pauseMs, 0.99)),
    ];
  });
}

/**
 * One row per switch: its replicas' records grouped by the epoch it started;
 * the decision is the first replica's seal, the switch ends at the first
 * commit any replica saw in the new epoch, and the pause is the longest gap
 * in `acks` from 100 ms before the one to 100 ms after the other. Record times
 * are shifted by `offsetMs` onto the acknowledgements' clock.
 */
function switchRows(records: SwitchRecord[], acks: number[], offsetMs = 0) {
  const byEpoch = new Map<number, SwitchRecord[]>();
  for (const record of records) byEpoch.set(record.toEpoch, [...(byEpoch.get(record.toEpoch) ?? []), record]);
  return [...byEpoch].sort(([a], [b]) => a - b).map(([, list]) => {
    const decidedAt = Math.min(...list.map((record) => record.sealedAtMs)) - offsetMs;
    const firstCommit = Math.min(...list.map((record) => record.firstCommitAtMs ?? Infinity)) - offsetMs;
    return {
      direction: `${list[0].from} → ${list[0].to}`,
      decidedAt,
      switchMs: firstCommit - decidedAt,
      pauseMs: longestGap(acks, decidedAt - 100, firstCommit + 100),
    };
  });
}

/** The longest gap between consecutive acknowledgements in `[from, to]`. */
function longestGap(acks: number[], from: number, to: number): number {
  const window = acks.filter((at) => at >= from && at <= to);
  let gap = 0;
  for (let i = 1; i < window.length; i++) gap = Math.max(gap, window[i] - window[i - 1]);
  return gap;
}

/**
 * Four KV node processes on the adaptive engine (TCP on loopback, file logs),
 * 16 closed-loop HTTP writers, a switch forced every 1.5 s over HTTP; each
 * switch's pause is the longest gap in the acknowledgements around it (from
 * 100 ms before the first node's seal to 100 ms after the new epoch's first
 * commit the nodes report).
 */
async function benchProcesses(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const cluster = await launchKvCluster({ engine: "adaptive", size: 4 });
  const call = async (url: string, path: string, method = "GET", body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? undefined : { "content-type": "application/json" },
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  const acks: number[] = [];
  let acknowledged = 0;
  let stop = false;
  try {
    await cluster.leader(20_000);
    const writers = Array.from({ length: WRITERS }, async (_, writer) => {
      const client = new KvHttpClient(cluster.urls, { timeoutMs: 10_000, clientId: `bench-${writer}` });
      for (let sequence = 1; !stop; sequence++) {
        await client.put(`key-${writer}`, `value-${sequence}`);
        acks.push(Date.now());
        acknowledged++;
      }
    });
    await wait(1_000);
    for (let i = 0; i < SWITCHES; i++) {
      const mode = i % 2 === 0 ? "internet" : "datacenter";
      const epoch = (await call(cluster.urls[0], "/adaptive")).epoch;
      await Promise.all(cluster.urls.slice(0, 2).map((url) => call(url, "/adaptive/force", "POST", { mode })));
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        const epochs = await Promise.all(cluster.urls.map((url) => call(url, "/adaptive").then((s) => s.epoch)));
        if (epochs.every((e) => e > epoch)) break;
        await wait(20);
      }
      await wait(SWITCH_EVERY_MS);
    }
    stop = true;
    await Promise.all(writers);
    const records: SwitchRecord[] = [];
    for (const url of cluster.urls) records.push(...(await call(url, "/adaptive")).switches as SwitchRecord[]);
    const rows = switchRows(records, acks);
    const table: (string | number)[][] = [[
      "direction (4 processes)",
      "switches",
      "switch p50 ms",
      "switch p99 ms",
      "pause p50 ms",
      "pause p99 ms",
    ], ...directionRows(rows)];
    const all = rows.map((row) => row.pauseMs);
    const note = `${acknowledged} writes acknowledged by ${WRITERS} HTTP writers during ${rows.length} switches ` +
      `(pause over all switches: p50 ${fmt(quantile(all, 0.5))} ms, p99 ${fmt(quantile(all, 0.99))} ms). ` +
      "Four KV node processes (examples/kv/node.ts --engine adaptive, file logs, TCP on loopback); " +
      "a switch every 1.5 s, forced over HTTP by two members.";
    return { markdown: `${markdownTable(table)}\n\n${note}`, results: { rows, acknowledged } };
  } finally {
    stop = true;
    await cluster.stop();
  }
}

/** Four replicas of the adaptive engine in one process, each on its own TCP transport. */
async function benchInProcess(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const machines = Array.from({ length: 4 }, () => new LatestWrites());
  const cluster = await startAdaptiveCluster(machines, {
    network: "tcp",
    tickMs: 10,
    adaptive: { graceMs: Number(Deno.env.get("GRACE") ?? 2_000), statusIntervalMs: 100 },
  });
  const acks: number[] = [];
  const acknowledged: string[] = [];
  let stop = false;
  const writers = Array.from({ length: WRITERS }, async (_, writer) => {
    let target = writer % 4;
    for (let sequence = 1; !stop; sequence++) {
      const text = `w${writer}-${sequence}`;
      for (;;) {
        const replica = cluster.replicas[target]!;
        try {
          await replica.propose(new TextEncoder().encode(text), { clientId: `w${writer}`, sequence, timeoutMs: 2_000 });
          acks.push(performance.now());
          acknowledged.push(text);
          break;
        } catch (error) {
          const { leaderHint } = error as { leaderHint?: string | null };
          target = leaderHint ? cluster.ids.indexOf(leaderHint) : (target + 1) % 4;
          await wait(1);
        }
      }
    }
  });
  try {
    await wait(1_000);
    for (let i = 0; i < SWITCHES; i++) {
      const mode = i % 2 === 0 ? "internet" : "datacenter";
      const epoch = cluster.replicas[0]!.epoch;
      await Promise.all(cluster.replicas.slice(0, 2).map((replica) => replica!.force(mode, "bench")));
      const deadline = performance.now() + 5_000;
      while (!cluster.replicas.every((replica) => replica!.epoch > epoch) && performance.now() < deadline) {
        await wait(5);
      }
      await wait(SWITCH_EVERY_MS);
    }
  } finally {
    stop = true;
    await Promise.all(writers);
  }
  // performance.now() and the clock's Date.now() differ by a constant: the switch records use the latter.
  const rows = switchRows(
    cluster.replicas.flatMap((replica) => replica!.adaptiveStats().switches),
    acks,
    Date.now() - performance.now(),
  );
  // Without a switch: the longest gap in the quiet stretch between two switches (the noise floor).
  const decisions = rows.map((row) => row.decidedAt);
  const baseline: Record<string, number[]> = { raft: [], pbft: [] };
  for (let i = 0; i + 1 < decisions.length; i++) {
    const gap = longestGap(acks, decisions[i] + 500, decisions[i + 1] - 100);
    baseline[rows[i].direction.endsWith("pbft") ? "pbft" : "raft"].push(gap);
  }
  const settleBy = performance.now() + 5_000;
  const same = () => machines.every((machine) => machine.count === machines[0].count);
  while (!same() && performance.now() < settleBy) await wait(10);
  const lost = acknowledged.filter((text) => machines.some((machine) => !machine.applied.has(text))).length;
  const duplicated = machines.reduce(
    (sum, machine) => sum + [...machine.applied.values()].filter((count) => count > 1).length,
    0,
  );
  const state = (machine: LatestWrites) => JSON.stringify([machine.count, [...machine.latest].sort()]);
  const diverged = machines.filter((machine) => state(machine) !== state(machines[0])).length;
  await cluster.close();

  const table: (string | number)[][] = [[
    "direction",
    "switches",
    "switch p50 ms",
    "switch p99 ms",
    "pause p50 ms",
    "pause p99 ms",
  ]];
  const results: Record<string, unknown> = { lost, duplicated, diverged, acknowledged: acknowledged.length };
  for (const engine of ["raft", "pbft"]) {
    table.push([
      `no switch, on ${engine === "raft" ? "Raft" : "PBFT"} (quiet stretches)`,
      baseline[engine].length,
      "",
      "",
      fmt(quantile(baseline[engine], 0.5)),
      fmt(quantile(baseline[engine], 0.99)),
    ]);
  }
  results.baselinePauseMs = baseline;
  results.rows = rows;
  table.push(...directionRows(rows));
  const all = rows.map((row) => row.pauseMs);
  const note = `${acknowledged.length} writes acknowledged by ${WRITERS} writers during ${rows.length} switches ` +
    `(pause over all switches: p50 ${fmt(quantile(all, 0.5))} ms, p99 ${fmt(quantile(all, 0.99))} ms); ` +
    `lost ${lost}, applied twice ${duplicated}, replicas that diverged ${diverged}. ` +
    "Four replicas in one process, each on its own TCP transport on loopback; a switch every 1.5 s, forced by two members.";
  return { markdown: `${markdownTable(table)}\n\n${note}`, results };
}
