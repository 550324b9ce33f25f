// The limits of the WASM decoders: maxDecompressedBytes is bounded to what they can allocate; an
// instance that traps is replaced, so that later decodes still work; and both zstd engines give the same
// answer on trailing bytes and concatenated frames.
import assert from "node:assert/strict";
import { encodeFrame, SwitchyardError, ValidationError } from "../../mod.ts";
import { sampleJson } from "../../testing/mod.ts";
import { randomBytes } from "../../testing/compressor.ts";
import { validateStandard } from "../../core/util/standard_schema.ts";
import { xxhash32 } from "../../core/util/xxhash32.ts";
import { MAX_DECOMPRESSED_BYTES_LIMIT } from "../../plugins/codecs.ts";
import lz4Plugin, { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { lz4Decoder } from "../../plugins/compress-lz4/codec.ts";
import { Lz4Decoder } from "../../plugins/compress-lz4/decoder.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";
import zstdPlugin, { zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { createZstdEngine, nativeZstd, type ZstdEngine } from "../../plugins/compress-zstd/engines.ts";
import { zstdFrameBytes } from "../../plugins/compress-zstd/frame_size.ts";
import { adaptiveCompressor } from "../../plugins/compress-adaptive/mod.ts";
import { createZstd } from "../../wasm/zstd.js";

/** A checksummed frame of `codec` claiming `originalLength` bytes around `payload`, whatever the payload is. */
function frameClaiming(codec: string, originalLength: number, payload: Uint8Array): Uint8Array {
  const frame = encodeFrame(codec, 0, new Uint8Array(0), payload, false);
  const at = 4 + codec.length;
  const view = new DataView(frame.buffer);
  view.setUint32(at + 2, originalLength, true);
  const headerBytes = 18 + codec.length;
  view.setUint32(at + 10, xxhash32(frame.subarray(headerBytes), xxhash32(frame.subarray(0, at + 10))), true);
  return frame;
}

/** Six bytes: an LZ4 block whose size prefix claims `claimed` bytes. */
const lz4Bomb = (claimed: number) => {
  const block = new Uint8Array([0, 0, 0, 0, 0x10, 0x41]);
  new DataView(block.buffer).setUint32(0, claimed, true);
  return block;
};

const namesField = (error: unknown) => {
  assert.ok(error instanceof ValidationError, String(error));
  assert.equal(error.code, "INVALID_ARGUMENT");
  assert.deepEqual(error.issues.map((issue) => issue.path), ["maxDecompressedBytes"]);
  assert.match(error.message, /must be at most 1073741824/);
  return true;
};

Deno.test("maxDecompressedBytes is bounded to 1 GiB in the option schema and in every function API", async () => {
  assert.equal(MAX_DECOMPRESSED_BYTES_LIMIT, 2 ** 30);
  for (const plugin of [lz4Plugin, zstdPlugin]) {
    const refused = await validateStandard(plugin.options!, { maxDecompressedBytes: 2 ** 32 }, "plugins.0.options");
    assert.ok(!refused.ok, plugin.id);
    assert.deepEqual(refused.issues.map((issue) => issue.path), ["plugins.0.options.maxDecompressedBytes"]);
    const accepted = await validateStandard(plugin.options!, { maxDecompressedBytes: 2 ** 30 }, "plugins.0.options");
    assert.ok(accepted.ok, plugin.id);
  }
  assert.throws(() => lz4Compressor(2 ** 32), namesField);
  assert.throws(() => noneCompressor(2 ** 30 + 1), namesField);
  await assert.rejects(zstdCompressor({ engine: "wasm", maxDecompressedBytes: 2 ** 32 }), namesField);
  await assert.rejects(
    adaptiveCompressor({ candidates: ["lz4"], maxDecompressedBytes: 2 ** 32 }),
    /maxDecompressedBytes/,
  );
});

Deno.test("lz4 at the bound: a 6-byte block claiming 1 GiB is refused, and the memory is given back", async () => {
  const lz4 = lz4Compressor(MAX_DECOMPRESSED_BYTES_LIMIT);
  const bomb = frameClaiming("lz4", MAX_DECOMPRESSED_BYTES_LIMIT, lz4Bomb(MAX_DECOMPRESSED_BYTES_LIMIT));
  for (let i = 0; i < 3; i++) {
    await assert.rejects(lz4.decompress(bomb), (error: unknown) => {
      assert.ok(error instanceof SwitchyardError && error.code === "FRAME_INVALID", String(error));
      return true;
    });
    assert.ok(lz4Decoder.memoryBytes <= 64 * 1024 * 1024, `the decoder holds ${lz4Decoder.memoryBytes} bytes`);
  }
  const data = sampleJson(20_000);
  assert.deepEqual(await lz4.decompress(await lz4.compress(data)), data);
  // Past the bound, the frame header refuses it before the decoder sees it.
  await assert.rejects(
    lz4.decompress(frameClaiming("lz4", 2 ** 32 - 1, lz4Bomb(2 ** 32 - 1))),
    (error: unknown) => error instanceof SwitchyardError && error.code === "FRAME_TOO_LARGE",
  );
});

Deno.test("lz4: 6,000 blocks that trap the WASM decoder, then a normal block still decodes", async () => {
  // A block claiming 4 GiB - 1 makes lz4_flex's allocation fail, which traps (`unreachable`). Each trap used
  // to leak the instance's shadow stack: after about 4,700 of them every call failed.
  const decoder = new Lz4Decoder();
  const block = (await lz4Compressor().compress(sampleJson(5_000))).subarray(18 + 3);
  const bomb = lz4Bomb(2 ** 32 - 1);
  for (let i = 0; i < 6_000; i++) {
    assert.throws(() => decoder.decode(bomb), (error: unknown) => {
      assert.ok(error instanceof SwitchyardError && error.code === "FRAME_INVALID", `trap ${i}: ${error}`);
      assert.match(error.message, /trapped/, `trap ${i}`);
      return true;
    });
  }
  assert.equal(decoder.traps, 6_000);
  assert.deepEqual(decoder.decode(block), sampleJson(5_000));
  assert.equal(decoder.instances, 6_001, "a fresh instance after each trap");
});

Deno.test("zstd WASM: an instance that traps is never used again (forced traps, then normal decodes)", async () => {
  const data = sampleJson(20_000);
  const reference = await createZstd();
  const marked = reference.compress(new TextEncoder().encode("trap here, please ".repeat(50)), 3);
  const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  let created = 0;
  // Each instance is real; the marked payload makes it trap, and a trapped instance is left broken for good,
  // as a leaked C stack leaves it.
  const createWasmInstance = async () => {
    created++;
    const real = await createZstd();
    let broken = false;
    const guard = () => {
      if (broken) throw new WebAssembly.RuntimeError("memory access out of bounds");
    };
    return {
      compress: (input: Uint8Array, level?: number) => (guard(), real.compress(input, level)),
      decompress: (input: Uint8Array) => {
        guard();
        if (sameBytes(input, marked)) {
          broken = true;
          throw new WebAssembly.RuntimeError("unreachable");
        }
        return real.decompress(input);
      },
    };
  };
  const engine: ZstdEngine = await createZstdEngine("wasm", { createWasmInstance });
  const good = await engine.compress(data, 3, false);
  const markedLength = 50 * "trap here, please ".length;
  for (let i = 0; i < 2_000; i++) {
    await assert.rejects(engine.decompress(marked, markedLength), (error: unknown) => {
      assert.ok(error instanceof SwitchyardError && error.code === "FRAME_INVALID", `trap ${i}: ${error}`);
      assert.match(error.message, /trapped \(unreachable\)/);
      return true;
    });
    if (i % 500 === 0) assert.deepEqual(await engine.decompress(good, data.length), data, `after trap ${i}`);
  }
  assert.deepEqual(await engine.decompress(good, data.length), data);
  assert.deepEqual(await engine.decompress(await engine.compress(data, 5, false), data.length), data);
  assert.equal(created, 2_001, "one instance to start with, one after each trap");
  engine.close();
});

Deno.test("zstd: native and WASM engines refuse the same trailing bytes and concatenated frames", async () => {
  const engines: ZstdEngine[] = [await createZstdEngine("wasm")];
  if (nativeZstd()) engines.push(await createZstdEngine("native"));
  const data = sampleJson(10_000);
  const frame = await engines[0].compress(data, 3, false);
  const second = await engines[0].compress(sampleJson(500), 3, false);
  const empty = await engines[0].compress(new Uint8Array(0), 3, false);
  const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]);
  const join = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) (out.set(part, at), at += part.length);
    return out;
  };
  const refused: [string, Uint8Array][] = [
    ["one trailing byte", join(frame, new Uint8Array([0]))],
    ["trailing garbage", join(frame, new TextEncoder().encode("garbage after the frame"))],
    ["a second frame", join(frame, second)],
    ["an empty second frame", join(frame, empty)],
    ["a skippable frame", join(frame, skippable)],
    ["a frame cut short", frame.subarray(0, frame.length - 1)],
  ];
  for (const engine of engines) {
    assert.deepEqual(await engine.decompress(frame, data.length), data, engine.name);
    for (const [label, payload] of refused) {
      await assert.rejects(engine.decompress(payload, data.length), (error: unknown) => {
        assert.ok(
          error instanceof SwitchyardError && error.code === "FRAME_INVALID",
          `${engine.name}, ${label}: ${error}`,
        );
        return true;
      });
    }
    // Through the compressor, from a well-formed Switchyard frame.
    const compressor = await zstdCompressor({ level: 3, engine: engine.name });
    const wrapped = encodeFrame("zstd", 3, data, join(frame, second), false);
    await assert.rejects(compressor.decompress(wrapped), /bytes follow the frame/);
    compressor.close();
  }
  // Every engine writes exactly one frame, also when its output passes 16 KiB (Deno's node:zlib then ends it
  // with an empty second frame, which the encoder drops).
  const large = randomBytes(100_000, 7);
  for (const engine of engines) {
    for (const offload of [false, true]) {
      const out = await engine.compress(large, 3, offload);
      assert.equal(zstdFrameBytes(out), out.length, `${engine.name}, offload ${offload}`);
      for (const reader of engines) assert.deepEqual(await reader.decompress(out, large.length), large);
    }
    engine.close();
  }
});
