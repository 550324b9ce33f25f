/**
 * Consensus benchmark: a 3-node Raft key-value cluster (processes, TCP on
 * loopback, file WAL synced before acknowledging) beside a 3-node etcd
 * cluster started in the same run, both loaded over HTTP by the same
 * closed-loop clients writing to the leader.
 *
 * @module
 */
import { launchKvCluster } from "../examples/kv/cluster.ts";
import { etcdInstalled, startEtcd } from "./etcd.ts";
import { closedLoop, type LoadResult } from "./load.ts";
import { fmt, markdownTable } from "./table.ts";

const CLIENT_COUNTS = [16, 64];
const DURATION_MS = 3000;

async function loadSwitchyard(clients: number): Promise<LoadResult> {
  const cluster = await launchKvCluster({ size: 3 });
  try {
    const leader = await cluster.leader();
    return await closedLoop(clients, DURATION_MS, async (client, sequence) => {
      const response = await fetch(`${leader.httpUrl}/kv/key-${client}`, { method: "PUT", body: `value-${sequence}` });
      await response.arrayBuffer();
      return response.ok;
    });
  } finally {
    await cluster.stop();
  }
}

async function loadEtcd(clients: number): Promise<LoadResult> {
  const cluster = await startEtcd(3);
  try {
    const leaderUrl = await cluster.leaderUrl();
    return await closedLoop(clients, DURATION_MS, async (client, sequence) => {
      const body = JSON.stringify({ key: btoa(`key-${client}`), value: btoa(`value-${sequence}`) });
      const response = await fetch(`${leaderUrl}/v3/kv/put`, { method: "POST", body });
      await response.arrayBuffer();
      return response.ok;
    });
  } finally {
    await cluster.stop();
  }
}

/** Runs the section. */
export async function benchConsensus(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  if (!await etcdInstalled()) {
    throw new Error("the consensus benchmark needs etcd as its baseline: apt-get install etcd-server");
  }
  const rows: (string | number)[][] = [[
    "clients",
    "Switchyard Raft writes/s",
    "p50 ms",
    "p99 ms",
    "etcd writes/s",
    "p50 ms",
    "p99 ms",
    "ratio",
  ]];
  const results: Record<string, unknown> = {};
  for (const clients of CLIENT_COUNTS) {
    console.error(`  ${clients} clients: switchyard`);
    const ours = await loadSwitchyard(clients);
    console.error(`  ${clients} clients: etcd`);
    const etcd = await loadEtcd(clients);
    const ratio = ours.opsPerSecond / etcd.opsPerSecond;
    results[`clients${clients}`] = { switchyard: ours, etcd, ratio };
    rows.push([
      clients,
      fmt(ours.opsPerSecond),
      fmt(ours.p50Ms),
      fmt(ours.p99Ms),
      fmt(etcd.opsPerSecond),
      fmt(etcd.p50Ms),
      fmt(etcd.p99Ms),
      `${fmt(ratio)}x`,
    ]);
  }
  const note = "3 nodes each, loopback, writes to the leader over HTTP (etcd: its JSON gateway `/v3/kv/put`), " +
    `${DURATION_MS / 1000} s per run after a 0.5 s warm-up; both sync their log before acknowledging.`;
  return { markdown: `${markdownTable(rows)}\n\n${note}`, results };
}
