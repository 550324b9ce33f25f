import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import process from "node:process";
import { sampleJson } from "../../testing/mod.ts";
import { xxhash32 } from "../../core/util/xxhash32.ts";
import { seededRandom } from "../../core/util/random.ts";
import { lz4BlockBound, Lz4BlockEncoder } from "../../plugins/compress-lz4/encoder.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { compress as lz4WasmCompress, decompress as lz4WasmDecompress } from "../../wasm/lz4.js";

/**
 * Noise with a 1,000-byte block repeated exactly 65,535 bytes later (the
 * farthest offset LZ4 can write) and another repeated 65,536 bytes later
 * (one too far: it must stay literals).
 */
function farRepeats(noise: (length: number) => Uint8Array): Uint8Array {
  const out = noise(200_000);
  out.copyWithin(65_535, 0, 1_000);
  out.copyWithin(100_000 + 65_536, 100_000, 101_000);
  return out;
}

/** Inputs that reach every path of the encoder: tiny ones, long literal runs and matches, far and near offsets. */
function inputs(): [string, Uint8Array][] {
  const random = seededRandom(41);
  const bytes = (length: number, next: (i: number, out: Uint8Array) => number) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = next(i, out);
    return out;
  };
  const noise = (length: number) => bytes(length, () => Math.floor(random.next() * 256));
  const cases: [string, Uint8Array][] = [];
  for (let length = 0; length <= 40; length++) cases.push([`zeros ${length}`, new Uint8Array(length)]);
  for (let length = 0; length <= 40; length++) cases.push([`noise ${length}`, noise(length)]);
  cases.push(["one long match (run of 100 KiB)", new Uint8Array(100_000).fill(7)]);
  cases.push(["literal run of 600, then a long match", Uint8Array.from([...noise(600), ...new Uint8Array(2_000)])]);
  cases.push(["a repeat exactly 65,535 bytes back, and one 65,536 back", farRepeats(noise)]);
  cases.push([
    "small alphabet with near repeats",
    bytes(300_000, (i, out) => (i > 16 && random.next() < 0.4 ? out[i - 1 - Math.floor(random.next() * 16)] : i % 5)),
  ]);
  cases.push(["1 MiB of noise", noise(1 << 20)]);
  cases.push(["JSON 1 MiB", sampleJson(1 << 20)]);
  return cases;
}

Deno.test("lz4 encoder: every input decodes back with lz4-wasm's decoder, within the block bound", () => {
  const encoder = new Lz4BlockEncoder();
  for (const [label, data] of inputs()) {
    const block = encoder.encode(data).slice();
    assert.ok(block.length <= lz4BlockBound(data.length), `${label}: ${block.length} > bound`);
    assert.deepEqual(lz4WasmDecompress(block), data, label);
  }
});

Deno.test("lz4 encoder: 2,000 seeded random inputs with repeats at random distances round-trip", () => {
  const encoder = new Lz4BlockEncoder();
  const random = seededRandom(Number(process.env.LZ4_SEED ?? 7));
  for (let n = 0; n < 2_000; n++) {
    const length = Math.floor(random.next() ** 2 * 20_000);
    const alphabet = 1 + Math.floor(random.next() * 255);
    const repeat = random.next();
    const reach = 1 + Math.floor(random.next() ** 3 * 70_000);
    const data = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      data[i] = i > 0 && random.next() < repeat
        ? data[Math.max(0, i - 1 - Math.floor(random.next() * Math.min(i, reach)))]
        : Math.floor(random.next() * alphabet);
    }
    assert.deepEqual(lz4WasmDecompress(encoder.encode(data).slice()), data, `input ${n} (${length} bytes)`);
  }
});

Deno.test("lz4 encoder: uses a repeat at the farthest offset, never one past it", () => {
  const random = seededRandom(5);
  const data = farRepeats((length) => Uint8Array.from({ length }, () => Math.floor(random.next() * 256)));
  const block = new Lz4BlockEncoder().encode(data).slice();
  assert.deepEqual(lz4WasmDecompress(block), data);
  // Noise costs about 1/255 extra; one repeat saved (~1,000 bytes), the other could not be.
  const saved = lz4BlockBound(data.length) - block.length;
  assert.ok(saved > 900 && saved < 1_900, `saved ${saved} bytes against the bound`);
});

Deno.test("lz4 encoder: compresses at least as well as lz4-wasm's own encoder", () => {
  const encoder = new Lz4BlockEncoder();
  for (const [label, data] of inputs().slice(-3)) {
    const ours = encoder.encode(data).length;
    const theirs = lz4WasmCompress(data).length;
    assert.ok(ours <= theirs * 1.01, `${label}: ${ours} bytes vs lz4-wasm's ${theirs}`);
  }
});

Deno.test("lz4 encoder: concurrent compressions each keep their own bytes (the scratch view is framed at once)", async () => {
  const compressor = lz4Compressor();
  const datas = [sampleJson(200_000, 1), sampleJson(300_000, 2), new Uint8Array(150_000).fill(3)];
  const frames = await Promise.all(datas.map((data) => compressor.compress(data)));
  for (const [i, frame] of frames.entries()) assert.deepEqual(await compressor.decompress(frame), datas[i]);
});

Deno.test("lz4 encoder: memory grown for a large input is given back after it", () => {
  const encoder = new Lz4BlockEncoder();
  encoder.encode(new Uint8Array(80 * 1024 * 1024));
  assert.ok(encoder.memoryBytes > 160 * 1024 * 1024, `${encoder.memoryBytes}`);
  const small = sampleJson(10_000);
  assert.deepEqual(lz4WasmDecompress(encoder.encode(small).slice()), small);
  assert.ok(encoder.memoryBytes < 1024 * 1024, `kept ${encoder.memoryBytes} bytes after a small input`);
});

/** Wraps a size-prefixed block in an LZ4 frame (one independent block, 4 MB maximum) for the `lz4` tool. */
function lz4Frame(prefixedBlock: Uint8Array): Uint8Array {
  const descriptor = new Uint8Array([0x60, 0x70]); // version 01, independent blocks; 4 MB blocks
  const block = prefixedBlock.subarray(4);
  const out = new Uint8Array(4 + 3 + 4 + block.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x184d2204, true);
  out.set(descriptor, 4);
  out[6] = (xxhash32(descriptor) >>> 8) & 0xff;
  view.setUint32(7, block.length, true);
  out.set(block, 11);
  view.setUint32(11 + block.length, 0, true);
  return out;
}

let lz4Tool: string | undefined;
try {
  execFileSync("lz4", ["--version"], { stdio: "ignore" });
} catch {
  lz4Tool = "the lz4 command-line tool is not installed";
}

Deno.test({
  name: `lz4 encoder: the reference decoder (lz4 tool) accepts every block${lz4Tool ? ` (skipped: ${lz4Tool})` : ""}`,
  ignore: lz4Tool !== undefined,
  fn() {
    const encoder = new Lz4BlockEncoder();
    for (const [label, data] of inputs()) {
      const decoded = execFileSync("lz4", ["-d", "-c"], { input: lz4Frame(encoder.encode(data)), maxBuffer: 1 << 26 });
      assert.deepEqual(new Uint8Array(decoded), data, label);
    }
  },
});
