import assert from "node:assert/strict";
import { encodeFrame, SwitchyardError } from "../../mod.ts";
import { sampleJson } from "../../testing/mod.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";
import { zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { nativeZstd } from "../../plugins/compress-zstd/engines.ts";
import { zstdContentSize } from "../../plugins/compress-zstd/frame_size.ts";
import { adaptiveCompressor } from "../../plugins/compress-adaptive/mod.ts";
import { DeliveryModel } from "../../plugins/compress-adaptive/model.ts";

const rejectsWith = (code: string) => (error: unknown) => {
  assert.ok(error instanceof SwitchyardError, String(error));
  assert.equal(error.code, code, error.message);
  return true;
};

Deno.test("any built-in compressor decodes any built-in frame, whatever codec wrote it", async () => {
  const data = sampleJson(32 * 1024);
  const writers = [noneCompressor(), lz4Compressor(), await zstdCompressor({ level: 3, engine: "wasm" })];
  if (nativeZstd()) writers.push(await zstdCompressor({ level: 3, engine: "native" }));
  const readers = [...writers, await adaptiveCompressor({ candidates: ["lz4"] })];
  for (const writer of writers) {
    const frame = await writer.compress(data);
    for (const reader of readers) {
      assert.deepEqual(await reader.decompress(frame), data, `${writer.codec} -> ${reader.codec}`);
    }
  }
});

Deno.test("zstd: the engine in use is reported, and native and wasm frames interoperate", async () => {
  const wasm = await zstdCompressor({ level: 5, engine: "wasm" });
  assert.equal(wasm.stats().engine, "wasm");
  const auto = await zstdCompressor({ level: 5 });
  assert.equal(auto.engine, nativeZstd() ? "native" : "wasm");
  const data = sampleJson(100_000);
  assert.deepEqual(await wasm.decompress(await auto.compress(data)), data);
  assert.deepEqual(await auto.decompress(await wasm.compress(data)), data);
  const max = await zstdCompressor({ level: "max", engine: "wasm" });
  assert.equal(max.level, 22);
  assert.equal(max.stats().offloaded, true);
  assert.deepEqual(await max.decompress(await max.compress(data)), data, "through the worker pool");
  max.close();
});

Deno.test("zstdContentSize reads every header layout and refuses frames without a size", () => {
  const data = new Uint8Array(300_000);
  // Frames written by both engines declare their content size.
  assert.throws(
    () => zstdContentSize(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])),
    rejectsWith("FRAME_INVALID"),
  );
  assert.throws(() => zstdContentSize(new TextEncoder().encode("not zstd at all")), /magic/);
  assert.ok(data.length > 0);
  // FCS 2 bytes (+256), single segment with 1-byte FCS, 8-byte FCS.
  assert.equal(zstdContentSize(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0x01])), 256 + 256);
  assert.equal(zstdContentSize(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x07])), 7);
  assert.equal(
    zstdContentSize(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x40, 0, 0, 0, 0])),
    2 ** 30,
  );
});

Deno.test("a zstd bomb (small frame, huge content) is rejected without allocating its size", async () => {
  const zstd = await zstdCompressor({ level: 3, engine: "wasm", maxDecompressedBytes: 16 * 1024 * 1024 });
  const maker = await zstdCompressor({ level: 3, engine: "wasm", maxDecompressedBytes: 2 ** 30 });
  const honest = await maker.compress(new Uint8Array(256 * 1024 * 1024)); // 256 MiB of zeros in a few kilobytes
  assert.ok(honest.length < 64 * 1024, `bomb is ${honest.length} bytes`);
  const payload = honest.subarray(honest.length - (honest.length - 18 - 4)); // the zstd frame after the header
  const before = (globalThis as { process?: { memoryUsage(): { rss: number } } }).process?.memoryUsage().rss ?? 0;
  // 1. The Switchyard header claims 256 MiB: refused by the header check.
  await assert.rejects(zstd.decompress(honest), rejectsWith("FRAME_TOO_LARGE"));
  // 2. The header lies small, the zstd frame inside claims 256 MiB: refused before decoding.
  const liar = encodeFrame("zstd", 3, new Uint8Array(1024), payload, false);
  await assert.rejects(zstd.decompress(liar), (error: unknown) => {
    assert.ok(error instanceof SwitchyardError && error.code === "FRAME_INVALID");
    assert.match(error.message, /declares 268435456 bytes, the Switchyard frame says 1024/);
    return true;
  });
  // 3. Same lie to every engine and codec path.
  if (nativeZstd()) await assert.rejects((await zstdCompressor({ engine: "native" })).decompress(liar), /declares/);
  await assert.rejects((await adaptiveCompressor({ candidates: ["none"] })).decompress(liar), /declares/);
  const after = (globalThis as { process?: { memoryUsage(): { rss: number } } }).process?.memoryUsage().rss ?? 0;
  assert.ok(after - before < 64 * 1024 * 1024, `memory grew by ${(after - before) / 2 ** 20} MiB`);
});

Deno.test("an lz4 block whose size prefix disagrees with the frame is rejected before decoding", async () => {
  const original = sampleJson(10_000);
  const block = (await import("../../wasm/lz4.js")).compress(original);
  new DataView(block.buffer, block.byteOffset).setUint32(0, 0x7fffffff, true); // the block now claims 2 GiB
  const frame = encodeFrame("lz4", 0, original, block, false); // a well-formed frame around it
  await assert.rejects(lz4Compressor().decompress(frame), (error: unknown) => {
    assert.ok(error instanceof SwitchyardError && error.code === "FRAME_INVALID");
    assert.match(error.message, /lz4 block claims 2147483647 bytes, the frame says \d+/);
    return true;
  });
});

Deno.test("the delivery model compresses harder on slow links and backs off on fast ones", () => {
  const model = new DeliveryModel(["none", "lz4", "zstd-3", "zstd-19"]);
  const mb = 1_000_000;
  assert.deepEqual(model.choose(mb, 10), { label: "lz4" }, "nothing measured: the reference codec");
  // Speeds (bytes/ms) and ratios like those measured on JSON on this class of machine.
  model.record("none", { originalBytes: mb, compressedBytes: mb, compressMs: 0.5, decompressMs: 0.5 });
  model.record("lz4", { originalBytes: mb, compressedBytes: mb / 4, compressMs: 2.5, decompressMs: 1 });
  model.record("zstd-3", { originalBytes: mb, compressedBytes: mb / 8, compressMs: 5, decompressMs: 2 });
  model.record("zstd-19", { originalBytes: mb, compressedBytes: mb / 11, compressMs: 1_000, decompressMs: 2 });
  assert.equal(model.choose(mb, 10).label, "zstd-3", "10 Mbps: dense, but level 19 would be the bottleneck");
  assert.equal(model.choose(mb, 1).label, "zstd-3", "1 Mbps: level 19 at 1 MB/s still loses");
  assert.equal(model.choose(mb, 0.1).label, "zstd-19", "0.1 Mbps: level 19 pays off");
  assert.equal(model.choose(mb, 100).label, "zstd-3", "100 Mbps: 5 + 10 + 2 ms beats lz4's 2.5 + 20 + 1");
  assert.equal(model.choose(mb, 1_000).label, "lz4", "1 Gbps: 2.5 + 2 + 1 ms beats zstd-3's 5 + 1 + 2");
  assert.equal(model.choose(mb, 10_000).label, "none", "10 Gbps: 0.5 + 0.8 + 0.5 ms");
});

Deno.test("candidates never used are estimated from priors scaled to the reference", () => {
  const model = new DeliveryModel(["none", "lz4", "zstd-3", "zstd-19"]);
  const mb = 1_000_000;
  model.record("lz4", { originalBytes: mb, compressedBytes: mb / 5, compressMs: 2, decompressMs: 1 });
  const zstd3 = model.estimate("zstd-3")!;
  const zstd19 = model.estimate("zstd-19")!;
  assert.equal(zstd3.measurements, 0);
  assert.ok(zstd3.ratio > 5 && zstd19.ratio > zstd3.ratio, "more saving than lz4, more at higher levels");
  assert.ok(zstd19.compressBytesPerMs < zstd3.compressBytesPerMs / 50, "level 19 is far slower");
  assert.equal(model.choose(mb, 10).label, "zstd-3", "a slow link calls for zstd before it was ever used");
  model.record("zstd-3", { originalBytes: mb, compressedBytes: mb / 5, compressMs: 40, decompressMs: 4 });
  assert.equal(model.estimate("zstd-3")!.ratio, 5, "the first measurement replaces the prior");
});

Deno.test("the adaptive compressor follows the measured bandwidth", async () => {
  // A clock that charges each codec a fixed cost per call (what a codec costs is the runtime's business, and a busy
  // machine's stalls would make the choice a matter of luck): zstd-3 is four times as slow as lz4, copying almost free.
  const msPerCall: Record<string, number> = { none: 0.05, lz4: 0.5, "zstd-3": 2 };
  let clock = 0;
  let bandwidthMbps = 10;
  const adaptive = await adaptiveCompressor(
    { candidates: ["none", "lz4", "zstd-3"], exploreEvery: 4 },
    () => ({ bandwidthMbps }),
    () => (clock += msPerCall[adaptive?.stats().lastChoice ?? "lz4"]),
  );
  const data = sampleJson(256 * 1024);
  for (let i = 0; i < 8; i++) await adaptive.compress(data);
  // 10 Mbps: sending costs tens of milliseconds, the best ratio wins.
  assert.equal(adaptive.stats().lastChoice, "zstd-3", JSON.stringify(adaptive.stats().estimates));
  bandwidthMbps = 10_000_000; // a link far faster than any codec
  for (let i = 0; i < 16; i++) await adaptive.compress(data);
  // Sending is free now: the cheapest codec to run wins.
  assert.equal(adaptive.stats().lastChoice, "none", JSON.stringify(adaptive.stats()));
  adaptive.setBandwidthMbps(10);
  const frame = await adaptive.compress(data);
  assert.equal(adaptive.stats().lastChoice, "zstd-3");
  assert.deepEqual(await adaptive.decompress(frame), data);
  await adaptive.close();
});
