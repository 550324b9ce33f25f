/**
 * Admin endpoint benchmark: requests per second on `GET /stats` (token
 * checked, as deployed; and with open reads) beside a bare `Deno.serve`
 * handler returning the same JSON, each loaded by `wrk` (1 thread, 32
 * connections), all sent the same request. Throughput on this 2-core
 * machine drifts by ±15 % between runs, so each of nine rounds measures all
 * three back to back (in alternating order) and the ratios are taken within a
 * round; the table shows medians.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SystemClock } from "../core/util/clock.ts";
import { silentLogger } from "../core/util/logger.ts";
import { HybridManager } from "../core/control/manager.ts";
import admin, { type AdminHttp } from "../plugins/admin-http/mod.ts";
import { instantiate } from "../testing/plugin.ts";
import { fmt, markdownTable } from "./table.ts";

const run = promisify(execFile);
const TOKEN = "bench-token-0123456789abcdef";
const ROUNDS = 9;

async function wrk(url: string, headers: string[] = []): Promise<number | undefined> {
  try {
    const args = ["-t1", "-c32", "-d2s", ...headers.flatMap((h) => ["-H", h]), url];
    const { stdout } = await run("wrk", args);
    const match = /Requests\/sec:\s*([\d.]+)/.exec(stdout);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The admin section of the benchmark. */
export async function benchAdmin(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const clock = new SystemClock();
  const manager = new HybridManager({ clock, logger: silentLogger, nodeId: "bench-node" });
  manager.registerComponent("compression", { name: "lz4" }, { name: "zstd" });
  await manager.initialize();
  const guarded = (await instantiate(admin, { port: 0, token: TOKEN }, { host: manager, clock })) as AdminHttp;
  const open =
    (await instantiate(admin, { port: 0, token: TOKEN, openReads: true }, { host: manager, clock })) as AdminHttp;
  const bare = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => Response.json(manager.getStats()));
  const bareUrl = `http://127.0.0.1:${bare.addr.port}/stats`;
  const rounds: { bare: number; guarded: number; open: number }[] = [];
  try {
    if ((await wrk(bareUrl)) === undefined) {
      return { markdown: "`wrk` is not installed (`apt-get install wrk`); admin benchmark skipped.", results: {} };
    }
    // Every server gets the same request, token header included (only admin-http reads it). The order
    // alternates between rounds so that drift during a round does not favour one side.
    const headers = [`Authorization: Bearer ${TOKEN}`];
    const targets = { bare: bareUrl, guarded: `${guarded.url}/stats`, open: `${open.url}/stats` };
    for (let round = 0; round < ROUNDS; round++) {
      const order = Object.keys(targets) as (keyof typeof targets)[];
      if (round % 2 === 1) order.reverse();
      const measured: Record<string, number> = {};
      for (const name of order) measured[name] = (await wrk(targets[name], headers)) ?? 0;
      const { bare: bareRps, guarded: guardedRps, open: openRps } = measured;
      rounds.push({ bare: bareRps, guarded: guardedRps, open: openRps });
      console.error(`  round ${round + 1}: bare ${fmt(bareRps)} guarded ${fmt(guardedRps)} open ${fmt(openRps)}`);
    }
  } finally {
    await guarded.close();
    await open.close();
    await bare.shutdown();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const best = {
    bare: median(rounds.map((r) => r.bare)),
    guarded: median(rounds.map((r) => r.guarded)),
    open: median(rounds.map((r) => r.open)),
    guardedRatio: median(rounds.map((r) => r.guarded / r.bare)),
    openRatio: median(rounds.map((r) => r.open / r.bare)),
    rounds,
  };
  const markdown = markdownTable([
    ["GET /stats (same JSON)", `requests/s (median of ${ROUNDS})`, "vs bare Deno.serve (median of per-round ratios)"],
    ["bare Deno.serve handler (baseline)", fmt(best.bare), "1x"],
    ["admin-http, bearer token checked", fmt(best.guarded), `${fmt(best.guardedRatio, 2)}x`],
    ["admin-http, openReads", fmt(best.open), `${fmt(best.openRatio, 2)}x`],
  ]);
  return { markdown, results: best };
}
