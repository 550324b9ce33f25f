/**
 * `switchyard bench`: what this machine does with the built-in codecs (each
 * compressing and decompressing a JSON payload, speed and ratio), and, given
 * a peer's probe address, what the link to it measures (the RTT and
 * bandwidth probes) and which mode the detector would choose for it. The
 * repository's full suite, with same-run baselines, is `deno task bench`.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { classify, type Compressor, consoleLogger, resolveConfig, SystemClock } from "../../mod.ts";
import { sampleJson } from "../../testing/compressor.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { bandwidthProbe } from "../../plugins/probe-bandwidth/mod.ts";
import { rttProbe } from "../../plugins/probe-rtt/mod.ts";
import { openTcpTransport, parseAddress, parseTcpOptions } from "../../plugins/transport-tcp/mod.ts";
import { EXIT_FAILED, HELP_OPTION, parseCommandLine, usageError } from "./args.ts";

const PROGRAM = "switchyard bench";

/** The help text. */
export const BENCH_USAGE = `usage: switchyard bench [--bytes N] [--rounds N] [--peer HOST:PORT] [--json]

Measures the built-in codecs on this machine (compress and decompress a JSON payload: MB/s and ratio) and,
with --peer, the link to a node's probe responder (its listen.probe address): RTT, bandwidth, loss, and the
mode the detector would choose. The repository's full suite, with same-run baselines: deno task bench.

options:
  --bytes N          payload size (default 1048576)
  --rounds N         rounds per codec (default 5)
  --peer HOST:PORT   also measure the link to this probe responder
  --json             print JSON instead of a table
  -h, --help         this text

exit codes: 0 measured; 1 the peer could not be measured; 2 bad usage`;

/** One codec's figures. */
interface CodecRow {
  codec: string;
  ratio: number;
  compressMBps: number;
  decompressMBps: number;
}

/** Runs the command with `args` (those after `bench`). */
export async function benchCommand(args: string[]): Promise<void> {
  const { values } = parseCommandLine(PROGRAM, BENCH_USAGE, (input) =>
    parseArgs({
      args: input,
      strict: true,
      options: {
        bytes: { type: "string", default: String(1024 * 1024) },
        rounds: { type: "string", default: "5" },
        peer: { type: "string" },
        json: { type: "boolean", default: false },
        ...HELP_OPTION,
      },
    }), args);
  const bytes = Number(values.bytes);
  const rounds = Number(values.rounds);
  if (!Number.isSafeInteger(bytes) || bytes < 1024 || bytes > 256 * 1024 * 1024) {
    usageError(PROGRAM, `--bytes must be a whole number from 1024 to 268435456, got "${values.bytes}"`);
  }
  if (!Number.isSafeInteger(rounds) || rounds < 1 || rounds > 1000) {
    usageError(PROGRAM, `--rounds must be a whole number from 1 to 1000, got "${values.rounds}"`);
  }
  if (values.peer !== undefined) {
    try {
      parseAddress(values.peer);
    } catch {
      usageError(PROGRAM, `--peer must be host:port, got "${values.peer}"`);
    }
  }
  const progress = (line: string) => values.json || console.error(line);
  const payload = sampleJson(bytes);
  const codecs: [string, () => Promise<Compressor & { close?(): Promise<void> }>][] = [
    ["lz4", () => Promise.resolve(lz4Compressor())],
    ["zstd-1", () => zstdCompressor({ level: 1 })],
    ["zstd-3", () => zstdCompressor({ level: 3 })],
    ["zstd-9", () => zstdCompressor({ level: 9 })],
  ];
  const rows: CodecRow[] = [];
  for (const [label, make] of codecs) {
    progress(`measuring ${label} (${rounds} rounds of ${bytes} bytes)…`);
    const codec = await make();
    try {
      await codec.decompress(await codec.compress(payload)); // warm up
      let compressMs = 0;
      let decompressMs = 0;
      let frameBytes = 0;
      for (let round = 0; round < rounds; round++) {
        const t0 = performance.now();
        const frame = await codec.compress(payload);
        const t1 = performance.now();
        await codec.decompress(frame);
        compressMs += t1 - t0;
        decompressMs += performance.now() - t1;
        frameBytes = frame.length;
      }
      const mbps = (ms: number) => (bytes * rounds) / 1e6 / (ms / 1000);
      rows.push({
        codec: label,
        ratio: bytes / frameBytes,
        compressMBps: mbps(compressMs),
        decompressMBps: mbps(decompressMs),
      });
    } finally {
      await codec.close?.();
    }
  }
  const link = values.peer ? await measureLink(values.peer, progress) : undefined;
  if (values.json) console.log(JSON.stringify({ bytes, rounds, codecs: rows, ...(link ? { link } : {}) }, null, 2));
  else {
    console.log("codec    ratio  compress MB/s  decompress MB/s");
    for (const row of rows) {
      console.log(
        `${row.codec.padEnd(7)} ${row.ratio.toFixed(2).padStart(6)}  ${row.compressMBps.toFixed(0).padStart(13)}  ` +
          `${row.decompressMBps.toFixed(0).padStart(15)}`,
      );
    }
    if (link && !link.error) {
      console.log(
        `link to ${values.peer}: rtt ${link.rttMs?.toFixed(2)} ms, ${link.bandwidthMbps?.toFixed(0)} Mbit/s, ` +
          `loss ${((link.lossRatio ?? 0) * 100).toFixed(1)}% -> ${link.mode} (${link.reason})`,
      );
    }
  }
  if (link?.error) {
    console.error(`${PROGRAM}: ${values.peer} could not be measured: ${link.error}`);
    process.exit(EXIT_FAILED);
  }
}

/** What the link to a peer measured, or why it could not be. */
interface LinkRow {
  rttMs?: number;
  bandwidthMbps?: number;
  lossRatio?: number;
  mode?: string;
  reason?: string;
  error?: string;
}

/** The link to the probe responder at `peer`, measured by the RTT and bandwidth probes over TCP. */
async function measureLink(peer: string, progress: (line: string) => void): Promise<LinkRow> {
  progress(`measuring the link to ${peer}…`);
  const clock = new SystemClock();
  const transport = await openTcpTransport(parseTcpOptions(), clock, consoleLogger("error"));
  const rtt = rttProbe(transport, clock, { name: "rtt", peers: [peer], pings: 10, pingTimeoutMs: 2_000 });
  const bandwidth = bandwidthProbe(transport, clock, {
    name: "bandwidth",
    peers: [peer],
    budgetBytes: 4 * 1024 * 1024,
    chunkBytes: 64 * 1024,
    timeoutMs: 10_000,
    filterWindow: 1,
  });
  try {
    const sample = { ...(await rtt.measure()), ...(await bandwidth.measure()) };
    const decision = classify(sample, "datacenter", resolveConfig());
    return { ...sample, mode: decision.mode, reason: decision.reason };
  } catch (error) {
    return { error: (error as Error).message };
  } finally {
    await rtt.close();
    await bandwidth.close();
  }
}
