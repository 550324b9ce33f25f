/**
 * The one table: the headline figure of every benchmark section, beside the
 * baseline measured in the same run and the ratio, with the target where
 * an issue set one. Built from the sections' results (those not run this
 * time keep their previous results, and the table says when they ran).
 *
 * @module
 */
import { quantile } from "../examples/cluster/report.ts";
import { fmt, markdownTable } from "./table.ts";

/** One row of the table. */
export interface HeadlineRow {
  /** The section. */
  area: string;
  /** What is measured, with its unit. */
  figure: string;
  /** Our figure. */
  ours: number;
  /** The same-run baseline and what it is. */
  baseline?: { value: number; what: string };
  /** The target, in words. */
  target?: string;
}

// deno-lint-ignore no-explicit-any
type Results = any;

const max = (values: number[]) => Math.max(...values);

/** Each section's headline rows, from its results (a section whose results lack a figure gives no row for it). */
const HEADLINES: Record<string, (results: Results) => HeadlineRow[]> = {
  compression: (r) =>
    (r.speeds ?? []).filter((row: Results) =>
      row.data === "JSON 4 MiB" && ["lz4 (wasm)", "zstd 3 (wasm)", "zstd 3 (native zlib)"].includes(row.codec)
    ).map((row: Results) => ({
      area: "codecs",
      figure: `${row.codec}, JSON, compress MB/s`,
      ours: row.ours.compressMBps,
      baseline: { value: row.native.compressMBps, what: `native ${row.codec.split(" ")[0]} CLI` },
    })),
  transport: (r) =>
    r.bigFrameGbps === undefined ? [] : [{
      area: "transport",
      figure: "TCP, 1 MiB frames, Gbit/s",
      ours: r.bigFrameGbps,
      baseline: { value: r.iperf3Gbps, what: "iperf3" },
    }],
  consensus: (r) =>
    ["clients16", "clients64"].filter((key) => r[key]).map((key) => ({
      area: "consensus",
      figure: `Raft, 3 nodes, ${key.slice(7)} clients, writes/s`,
      ours: r[key].switchyard.opsPerSecond,
      baseline: { value: r[key].etcd.opsPerSecond, what: "etcd, same machine" },
    })),
  pbft: (r) =>
    [16, 64].filter((clients) => r[`PBFT, 4 replicas (f = 1), batching, ${clients} clients`]).map((clients) => ({
      area: "consensus",
      figure: `PBFT, 4 replicas, ${clients} clients, writes/s`,
      ours: r[`PBFT, 4 replicas (f = 1), batching, ${clients} clients`].opsPerSecond,
      baseline: { value: r[`Raft, 3 nodes, ${clients} clients`].opsPerSecond, what: "our Raft" },
      target: "≥ 0.5× Raft",
    })),
  admin: (r) =>
    r.guarded === undefined ? [] : [{
      area: "admin",
      figure: "admin endpoint, authenticated, requests/s",
      ours: r.guarded,
      baseline: { value: r.bare, what: "bare Deno.serve" },
    }],
  adaptive: (r) =>
    r.processes?.rows
      ? [{
        area: "switching",
        figure: "Raft ⇄ PBFT, 4 KV processes, data-path pause p99 (ms)",
        ours: quantile(r.processes.rows.map((row: Results) => row.pauseMs), 0.99)!,
        target: "< 50",
      }]
      : [],
  cluster: (r) => {
    if (!r.loadedPeakMiB) return [];
    const quiet = max(r.quietGapMs);
    return [
      {
        area: "cluster",
        figure: `peak memory per node at ${fmt(r.opsPerSecond)} ops/s (MiB, worst node)`,
        ours: max(r.loadedPeakMiB),
        baseline: { value: max(r.idlePeakMiB), what: "the same nodes idle" },
        target: "< 150",
      },
      ...Object.entries(r.detectionMs as Record<string, number[]>).map(([name, values]) => ({
        area: "cluster",
        figure: `${name}: link change → mode on every node (ms, worst)`,
        ours: max(values),
        baseline: { value: r.detectionBoundMs, what: "(sampleWindow + 1) × detectionIntervalMs" },
        target: `≤ ${r.detectionBoundMs}`,
      })),
      {
        area: "cluster",
        figure: "Raft ⇄ PBFT under load, data-path pause p99 (ms)",
        ours: r.pauseP99Ms,
        baseline: { value: quiet, what: "longest quiet gap" },
        target: "< 50",
      },
    ];
  },
  split: (r) => {
    const throughput = r["writes and reads per second"];
    if (!throughput) return [];
    return [{
      area: "split",
      figure: `two racks over a WAN, per-peer link modes, ops/s (${r.clients} clients, ${r.valueBytes / 1024} KiB)`,
      ours: throughput.perPeer,
      baseline: { value: throughput.global, what: "global link modes" },
      target: "a gain (> 1)",
    }];
  },
};

/** The headline rows of `sections` (section name → results), in the table's order. */
export function headlineRows(sections: Record<string, unknown>): HeadlineRow[] {
  return Object.entries(HEADLINES).flatMap(([name, rows]) => (sections[name] ? rows(sections[name]) : []));
}

/** The rows as a Markdown table. */
export function headlineTable(rows: readonly HeadlineRow[]): string {
  return markdownTable([
    ["area", "figure", "ours", "baseline (same run)", "ratio", "target"],
    ...rows.map((row) => [
      row.area,
      row.figure,
      fmt(row.ours),
      row.baseline ? `${fmt(row.baseline.value)} (${row.baseline.what})` : "–",
      row.baseline ? `${fmt(row.ours / row.baseline.value)}×` : "–",
      row.target ?? "",
    ]),
  ]);
}
