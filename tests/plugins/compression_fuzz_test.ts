// Feeds at least 100,000 mutated and random frames to every codec path: each
// must come back as the exact original or be rejected with a typed error;
// nothing may crash, hang or allocate without bound. Rerun a failure with
// FUZZ_SEED=<seed>; raise FUZZ_FRAMES for a longer run.
import assert from "node:assert/strict";
import { env } from "node:process";
import { type Compressor, seededRandom, SwitchyardError } from "../../mod.ts";
import { randomBytes, sameBytes, sampleJson } from "../../testing/compressor.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";
import { zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { nativeZstd } from "../../plugins/compress-zstd/engines.ts";
import { adaptiveCompressor } from "../../plugins/compress-adaptive/mod.ts";

const SEED = Number(env.FUZZ_SEED ?? 20261124);
const FRAMES = Number(env.FUZZ_FRAMES ?? 100_000);
const TYPED = new Set(["FRAME_INVALID", "FRAME_TOO_LARGE", "INVALID_ARGUMENT"]);
const rss = () => {
  (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true);
  return (globalThis as { process?: { memoryUsage(): { rss: number } } }).process?.memoryUsage().rss ?? 0;
};

Deno.test(`fuzz: ${FRAMES} mutated and random frames, seed ${SEED}`, async () => {
  const random = seededRandom(SEED);
  const maxBytes = 1024 * 1024;
  const codecs: [string, Compressor][] = [
    ["none", noneCompressor(maxBytes)],
    ["lz4", lz4Compressor(maxBytes)],
    ["zstd-wasm", await zstdCompressor({ level: 3, engine: "wasm", maxDecompressedBytes: maxBytes })],
  ];
  if (nativeZstd()) {
    codecs.push(["zstd-native", await zstdCompressor({ level: 3, engine: "native", maxDecompressedBytes: maxBytes })]);
  }
  const reader = await adaptiveCompressor({ candidates: ["none"], maxDecompressedBytes: maxBytes });
  const originals = [
    new Uint8Array(0),
    sampleJson(512, 3),
    sampleJson(4096, 4),
    randomBytes(2048, 5),
    new Uint8Array(8192),
  ];
  const corpus: { codec: string; compressor: Compressor; original: Uint8Array; frame: Uint8Array }[] = [];
  for (const [codec, compressor] of codecs) {
    for (const original of originals) {
      corpus.push({ codec, compressor, original, frame: await compressor.compress(original) });
    }
  }
  const int = (below: number) => Math.floor(random.next() * below);
  const mutate = (frame: Uint8Array): Uint8Array => {
    const out = frame.slice();
    switch (int(7)) {
      case 0: // flip 1–8 bits anywhere
        for (let i = 1 + int(8); i > 0 && out.length > 0; i--) out[int(out.length)] ^= 1 << int(8);
        return out;
      case 1: // overwrite a header byte
        if (out.length > 0) out[int(Math.min(out.length, 32))] = int(256);
        return out;
      case 2: // write a random u32 at a header offset (lengths, checksum)
        if (out.length >= 8) new DataView(out.buffer).setUint32(int(Math.min(out.length - 4, 28)), int(2 ** 32), true);
        return out;
      case 3: // truncate
        return out.subarray(0, int(out.length + 1));
      case 4: { // extend with junk
        const longer = new Uint8Array(out.length + 1 + int(64));
        longer.set(out);
        for (let i = out.length; i < longer.length; i++) longer[i] = int(256);
        return longer;
      }
      case 5: // corrupt the payload only
        if (out.length > 40) { for (let i = 0; i < 4; i++) out[30 + int(out.length - 30)] = int(256); }
        return out;
      default: { // random bytes behind a plausible header
        const junk = randomBytes(int(256), int(2 ** 31));
        const mixed = new Uint8Array(Math.min(out.length, 24) + junk.length);
        mixed.set(out.subarray(0, 24));
        mixed.set(junk, Math.min(out.length, 24));
        return mixed;
      }
    }
  };
  const before = rss();
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < FRAMES; i++) {
    const pure = i % 10 === 9;
    const base = corpus[int(corpus.length)];
    const input = pure ? randomBytes(int(512), i) : mutate(base.frame);
    const decoder = i % 5 === 0 ? reader : base.compressor;
    try {
      const out = await decoder.decompress(input);
      assert.ok(
        !pure || out.length === 0 || sameBytes(out, base.original),
        `seed ${SEED} frame ${i}: random input decoded`,
      );
      assert.ok(pure || sameBytes(out, base.original), `seed ${SEED} frame ${i} (${base.codec}): wrong data returned`);
      accepted++;
    } catch (error) {
      if (!(error instanceof SwitchyardError) || !TYPED.has(error.code)) {
        throw new Error(`seed ${SEED} frame ${i} (${base.codec}): untyped failure: ${error}`, { cause: error });
      }
      rejected++;
    }
  }
  const grownMiB = (rss() - before) / 2 ** 20;
  assert.equal(accepted + rejected, FRAMES);
  assert.ok(rejected > FRAMES * 0.5, `only ${rejected} of ${FRAMES} rejected: the mutations are too weak`);
  // Each decode is bounded by maxBytes (1 MiB); 100,000 of them leaking anything would show here.
  assert.ok(grownMiB < 512, `memory grew by ${grownMiB.toFixed(0)} MiB during the fuzz run`);
  reader.close();
});
