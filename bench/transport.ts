/**
 * TCP transport benchmark on loopback: throughput with 1 MiB frames and the
 * rate of 64-byte frames, beside `iperf3` on loopback in the same run.
 *
 * @module
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { SystemClock } from "../core/util/clock.ts";
import { runtimeSockets, tcpTransport } from "../plugins/transport-tcp/mod.ts";
import { connectedPair } from "../tests/support/connected_pair.ts";
import { fmt, markdownTable } from "./table.ts";

const run = promisify(execFile);

async function iperf3Gbps(): Promise<number | undefined> {
  const server = spawn("iperf3", ["-s", "-1", "-p", "5299"], { stdio: "ignore" });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { stdout } = await run("iperf3", ["-c", "127.0.0.1", "-p", "5299", "-t", "4", "-J"]);
    return JSON.parse(stdout).end.sum_received.bits_per_second / 1e9;
  } catch {
    return undefined;
  } finally {
    server.kill();
  }
}

async function pair() {
  const transport = tcpTransport(
    await runtimeSockets(),
    {
      maxFrameBytes: 2 * 1024 * 1024,
      highWaterBytes: 8 * 1024 * 1024,
      dialAttempts: 1,
      initialBackoffMs: 0,
      maxBackoffMs: 0,
    },
    new SystemClock(),
  );
  return await connectedPair(transport, "127.0.0.1:0");
}

/** Sends `count` frames of `size`, keeping up to `window` sends in flight; returns seconds. */
async function blast(size: number, count: number, window: number): Promise<number> {
  const { client, server, release } = await pair();
  const frame = new Uint8Array(size);
  const start = performance.now();
  const receiving = (async () => {
    let got = 0;
    for await (const _ of server.frames()) if (++got === count) break;
  })();
  // Sends complete in order: awaiting the latest every \`window\` sends bounds what is in flight.
  let latest: Promise<void> = Promise.resolve();
  for (let i = 0; i < count; i++) {
    latest = client.send(frame);
    if (i % window === window - 1) await latest;
  }
  await latest;
  await receiving;
  const seconds = (performance.now() - start) / 1000;
  await release();
  return seconds;
}

/** The transport section of the benchmark. */
export async function benchTransport(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const iperf = await iperf3Gbps();
  await blast(1024 * 1024, 64, 8); // warm up
  const bigSeconds = await blast(1024 * 1024, 2048, 8);
  const bigGbps = (2048 * 1024 * 1024 * 8) / bigSeconds / 1e9;
  await blast(64, 20_000, 4096);
  const smallCount = 1_000_000;
  const smallSeconds = await blast(64, smallCount, 4096);
  const framesPerSecond = smallCount / smallSeconds;
  const markdown = markdownTable([
    ["loopback, one connection", "result", "baseline (same run)", "ratio"],
    [
      "1 MiB frames (2 GiB)",
      `${fmt(bigGbps)} Gbit/s`,
      iperf ? `iperf3: ${fmt(iperf)} Gbit/s` : "iperf3 not installed",
      iperf ? `${fmt(bigGbps / iperf, 2)}x` : "–",
    ],
    [
      "64-byte frames (1,000,000)",
      `${fmt(framesPerSecond)} frames/s`,
      "target: 300,000 frames/s",
      `${fmt(framesPerSecond / 300_000, 2)}x`,
    ],
  ]);
  return {
    markdown,
    results: { iperf3Gbps: iperf ?? null, bigFrameGbps: bigGbps, smallFramesPerSecond: framesPerSecond },
  };
}
