/**
 * Compression benchmark: each codec's compress and decompress speed and
 * ratio beside the native `lz4` and `zstd` tools (their in-memory `-b`
 * benchmark on the same files, same run), the adaptive codec's time to
 * deliver over 10 to 10000 Mbps links beside the best fixed choice, and the
 * event-loop delay while compressing at zstd's highest level.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Compressor, framedCompressor } from "../core/contracts/compressor.ts";
import { adaptiveCompressor } from "../plugins/compress-adaptive/mod.ts";
import { lz4Codec } from "../plugins/compress-lz4/codec.ts";
import { lz4Compressor } from "../plugins/compress-lz4/mod.ts";
import { noneCompressor } from "../plugins/compress-none/mod.ts";
import { nativeZstd } from "../plugins/compress-zstd/engines.ts";
import { zstdCompressor } from "../plugins/compress-zstd/mod.ts";
import { compress as lz4WasmCompress } from "../wasm/lz4.js";
import { binaryPayload, jsonDocument } from "./data.ts";
import { fmt, markdownTable } from "./table.ts";

const run = promisify(execFile);
const MB = 1e6;

interface Speed {
  compressMBps: number;
  decompressMBps: number;
  ratio: number;
}

/** Times `work` until at least `minMs` and 3 runs; returns ms per run. */
async function timePerRun(work: () => Promise<unknown>, minMs = 400): Promise<number> {
  await work();
  let runs = 0;
  const start = performance.now();
  while (runs < 3 || performance.now() - start < minMs) {
    await work();
    runs++;
  }
  return (performance.now() - start) / runs;
}

async function measure(compressor: Compressor, data: Uint8Array, minMs?: number): Promise<Speed> {
  const frame = await compressor.compress(data);
  const compressMs = await timePerRun(() => compressor.compress(data), minMs);
  const decompressMs = await timePerRun(() => compressor.decompress(frame), minMs);
  return {
    compressMBps: data.length / MB / (compressMs / 1000),
    decompressMBps: data.length / MB / (decompressMs / 1000),
    ratio: data.length / frame.length,
  };
}

/** Runs `tool -b<level>` on `file` and parses "a -> b (ratio), X MB/s, Y MB/s". */
async function nativeBench(tool: "lz4" | "zstd", level: number, file: string): Promise<Speed | undefined> {
  try {
    const { stdout, stderr } = await run(tool, [`-b${level}`, "-i2", file], { maxBuffer: 1 << 20 });
    const text = `${stdout}\n${stderr}`.replace(/\r/g, "\n");
    const lines = text.split("\n").filter((line) => /->.*MB\/s.*MB\/s/.test(line));
    const match = /->\s*\d+\s*\(x?\s*([\d.]+)\),\s*([\d.]+)\s*MB\/s\s*,\s*([\d.]+)\s*MB\/s/.exec(lines.at(-1) ?? "");
    if (!match) return undefined;
    return { ratio: Number(match[1]), compressMBps: Number(match[2]), decompressMBps: Number(match[3]) };
  } catch {
    return undefined;
  }
}

async function eventLoopDelay(work: () => Promise<unknown>): Promise<{ maxLagMs: number; wallMs: number }> {
  let maxLagMs = 0;
  let expected = performance.now() + 5;
  const ticker = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - expected);
    expected = now + 5;
  }, 5);
  const start = performance.now();
  await work();
  const wallMs = performance.now() - start;
  await new Promise((resolve) => setTimeout(resolve, 20));
  clearInterval(ticker);
  return { maxLagMs, wallMs };
}

/** The compression section of the benchmark. */
export async function benchCompression(): Promise<{ markdown: string; results: Record<string, unknown> }> {
  const datasets: [string, Uint8Array][] = [
    ["JSON 4 MiB", jsonDocument(4 * 1024 * 1024)],
    ["binary 4 MiB", await binaryPayload(4 * 1024 * 1024)],
  ];
  const dir = await mkdtemp(join(tmpdir(), "switchyard-bench-"));
  const native = nativeZstd() ? "native" : "wasm";
  const codecs: [string, string, number, () => Promise<Compressor>][] = [
    ["lz4 (wasm)", "lz4", 1, () => Promise.resolve(lz4Compressor())],
    // For comparison: the same frame around lz4-wasm's own encoder, which the codec no longer uses.
    [
      "lz4 (lz4-wasm's encoder)",
      "lz4",
      1,
      () => Promise.resolve(framedCompressor({ ...lz4Codec, encode: (data) => lz4WasmCompress(data) })),
    ],
    ["zstd 1 (wasm)", "zstd", 1, () => zstdCompressor({ level: 1, engine: "wasm" })],
    ["zstd 3 (wasm)", "zstd", 3, () => zstdCompressor({ level: 3, engine: "wasm" })],
    ["zstd 19 (wasm)", "zstd", 19, () => zstdCompressor({ level: 19, engine: "wasm", offloadFromLevel: 23 })],
  ];
  if (native === "native") {
    codecs.push(
      ["zstd 1 (native zlib)", "zstd", 1, () => zstdCompressor({ level: 1, engine: "native" })],
      ["zstd 3 (native zlib)", "zstd", 3, () => zstdCompressor({ level: 3, engine: "native" })],
      [
        "zstd 19 (native zlib)",
        "zstd",
        19,
        () => zstdCompressor({ level: 19, engine: "native", offloadFromLevel: 23 }),
      ],
    );
  }
  const speedRows: (string | number)[][] = [[
    "data",
    "codec",
    "compress MB/s",
    "decompress MB/s",
    "ratio",
    "native CLI compress MB/s",
    "native decompress MB/s",
    "native ratio",
    "compress vs native",
  ]];
  const speeds: Record<string, unknown>[] = [];
  try {
    for (const [dataName, data] of datasets) {
      const file = join(dir, dataName.replace(/\W+/g, "_"));
      await writeFile(file, data);
      for (const [label, tool, level, make] of codecs) {
        const compressor = await make();
        const ours = await measure(compressor, data, level >= 19 ? 1 : 400);
        (compressor as { close?: () => void }).close?.();
        const theirs = await nativeBench(tool as "lz4" | "zstd", level, file);
        speeds.push({ data: dataName, codec: label, ours, native: theirs ?? null });
        speedRows.push([
          dataName,
          label,
          fmt(ours.compressMBps),
          fmt(ours.decompressMBps),
          fmt(ours.ratio),
          fmt(theirs?.compressMBps),
          fmt(theirs?.decompressMBps),
          fmt(theirs?.ratio),
          theirs ? `${fmt(ours.compressMBps / theirs.compressMBps, 2)}x` : "no CLI",
        ]);
        console.error(`  ${dataName} ${label}: ${fmt(ours.compressMBps)} MB/s`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // Adaptive vs fixed: a stream of 32 messages of 256 KiB, alternating JSON and binary.
  const messages: Uint8Array[] = [];
  for (let i = 0; i < 32; i++) {
    const source = datasets[i % 2][1];
    const at = (i * 131_072) % (source.length - 262_144);
    messages.push(source.slice(at, at + 262_144));
  }
  const links = [10, 100, 1_000, 10_000];
  const fixed: [string, () => Promise<Compressor>][] = [
    ["none", () => Promise.resolve(noneCompressor())],
    ["lz4", () => Promise.resolve(lz4Compressor())],
    ...[1, 3, 9, 19].map((level): [string, () => Promise<Compressor>] => [
      `zstd-${level}`,
      () => zstdCompressor({ level, offloadFromLevel: 23 }),
    ]),
  ];
  const costs: Record<string, { compressMs: number; decompressMs: number; bytes: number }[]> = {};
  for (const [label, make] of fixed) {
    const compressor = await make();
    costs[label] = [];
    for (const message of messages) {
      const t0 = performance.now();
      const frame = await compressor.compress(message);
      const t1 = performance.now();
      await compressor.decompress(frame);
      costs[label].push({ compressMs: t1 - t0, decompressMs: performance.now() - t1, bytes: frame.length });
    }
  }
  const deliveryMs = (entries: { compressMs: number; decompressMs: number; bytes: number }[], mbps: number) =>
    entries.reduce((sum, e) => sum + e.compressMs + e.decompressMs + e.bytes * 8 / (mbps * 1000), 0);
  const adaptiveRows: (string | number)[][] = [[
    "link Mbps",
    "best fixed",
    "best fixed ms",
    "adaptive ms",
    "adaptive / best",
    "adaptive chose",
  ]];
  const adaptiveResults: Record<string, unknown>[] = [];
  for (const mbps of links) {
    const ranked = fixed.map(([label]) => ({ label, ms: deliveryMs(costs[label], mbps) })).sort((a, b) => a.ms - b.ms);
    const adaptive = await adaptiveCompressor({ bandwidthMbps: mbps });
    const entries = [];
    for (const message of messages) {
      const t0 = performance.now();
      const frame = await adaptive.compress(message);
      const t1 = performance.now();
      await adaptive.decompress(frame);
      entries.push({ compressMs: t1 - t0, decompressMs: performance.now() - t1, bytes: frame.length });
    }
    const adaptiveMs = deliveryMs(entries, mbps);
    const chose = Object.entries(adaptive.stats().choices).filter(([, n]) => n > 0).map(([l, n]) => `${l}×${n}`)
      .join(" ");
    adaptive.close();
    adaptiveResults.push({ mbps, best: ranked[0], adaptiveMs, ratio: adaptiveMs / ranked[0].ms, fixed: ranked, chose });
    adaptiveRows.push([
      mbps,
      ranked[0].label,
      fmt(ranked[0].ms),
      fmt(adaptiveMs),
      `${fmt(adaptiveMs / ranked[0].ms, 3)}`,
      chose,
    ]);
  }

  // Event-loop delay at the highest level, inline and offloaded.
  const heavy = jsonDocument(2 * 1024 * 1024);
  const inline = await zstdCompressor({ level: "max", engine: "wasm", offloadFromLevel: 23 });
  const pooled = await zstdCompressor({ level: "max", engine: "wasm", offloadFromLevel: 10 });
  const lagInline = await eventLoopDelay(() => inline.compress(heavy));
  const lagPooled = await eventLoopDelay(() => pooled.compress(heavy));
  pooled.close();
  const lagRows = [
    ["zstd level 22 on 2 MiB JSON", "wall ms", "max event-loop delay ms"],
    ["on the event loop", fmt(lagInline.wallMs), fmt(lagInline.maxLagMs)],
    ["in the worker pool (default)", fmt(lagPooled.wallMs), fmt(lagPooled.maxLagMs)],
  ];
  if (native === "native") {
    const threaded = await zstdCompressor({ level: "max", engine: "native" });
    const lagThreaded = await eventLoopDelay(() => threaded.compress(heavy));
    lagRows.push(["native, in the worker pool (default)", fmt(lagThreaded.wallMs), fmt(lagThreaded.maxLagMs)]);
    threaded.close();
  }

  const markdown = [
    "### Codecs against the native command-line tools (same data, same run)",
    "",
    markdownTable(speedRows),
    "",
    "### Adaptive codec: time to deliver 32 × 256 KiB (compress + send + decompress)",
    "",
    markdownTable(adaptiveRows),
    "",
    "### Event loop while compressing at the highest level",
    "",
    markdownTable(lagRows),
  ].join("\n");
  return {
    markdown,
    results: {
      speeds,
      adaptive: adaptiveResults,
      eventLoop: { inline: lagInline, pooled: lagPooled },
      zstdEngine: native,
    },
  };
}
