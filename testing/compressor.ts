/**
 * The compressor compliance suite: every compressor plugin must round-trip
 * any payload, write frames naming its codec, and never return wrong data
 * for corrupt, truncated or foreign input, rejecting it with a typed error
 * instead, without allocating what a frame merely claims.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Compressor } from "../core/contracts/compressor.ts";
import { DEFAULT_MAX_DECOMPRESSED_BYTES } from "../core/contracts/compressor.ts";
import { SwitchyardError } from "../core/util/errors.ts";
import { decodeFrameHeader } from "../core/contracts/frame.ts";
import { seededRandom } from "../core/util/random.ts";
import { closing, type ComplianceCase, withCleanup } from "./case.ts";

/** Options of {@linkcode compressorCompliance}. */
export interface CompressorComplianceOptions {
  /** The decompressed-size limit the compressor was built with (default 64 MiB). */
  maxDecompressedBytes?: number;
  /** How many random corruptions to try (default 300). */
  corruptionTrials?: number;
  /** Seed of the random payloads and corruptions. */
  seed?: number;
}

/** A realistic JSON document of about `sizeBytes`. */
export function sampleJson(sizeBytes: number, seed = 1): Uint8Array {
  const random = seededRandom(seed);
  const records = [];
  let size = 0;
  for (let i = 0; size < sizeBytes; i++) {
    const record = {
      id: `node-${i}`,
      region: ["eu-west-1", "us-east-2", "ap-south-1"][i % 3],
      rttMs: Math.round(random.between(0.1, 120) * 100) / 100,
      healthy: random.next() > 0.1,
      tags: ["raft", "pbft", "lz4", "zstd"].slice(0, 1 + (i % 4)),
      lastSeen: new Date(1_700_000_000_000 + i * 1_000).toISOString(),
    };
    size += JSON.stringify(record).length + 1;
    records.push(record);
  }
  return new TextEncoder().encode(JSON.stringify({ cluster: "switchyard", records }));
}

/** `length` seeded random bytes (incompressible). */
export function randomBytes(length: number, seed = 2): Uint8Array {
  const random = seededRandom(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random.next() * 256);
  return bytes;
}

function payloads(seed: number): [string, Uint8Array][] {
  const pattern = new Uint8Array(300_000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 7) % 13;
  return [
    ["empty", new Uint8Array(0)],
    ["one byte", new Uint8Array([42])],
    ["short text", new TextEncoder().encode("hello, switchyard")],
    ["64 KiB JSON", sampleJson(64 * 1024, seed)],
    ["128 KiB random", randomBytes(128 * 1024, seed)],
    ["1 MiB zeros", new Uint8Array(1024 * 1024)],
    ["300 kB pattern", pattern],
  ];
}

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const TYPED_CODES = new Set(["FRAME_INVALID", "FRAME_TOO_LARGE", "INVALID_ARGUMENT"]);

/** Asserts `promise` rejects with a SwitchyardError of a frame code. */
async function assertTypedRejection(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof SwitchyardError, `${what}: expected a SwitchyardError, got ${String(error)}`);
    assert.ok(TYPED_CODES.has(error.code), `${what}: unexpected code ${error.code}`);
    return true;
  }, `${what}: must be rejected`);
}

/**
 * The cases every compressor must pass. `make` creates the compressor under test.
 *
 * @example
 * ```ts ignore
 * import { compressorCompliance, runCompliance } from "@switchyard/hybrid/testing";
 * runCompliance("compress-none", compressorCompliance(() => noneCompressor()));
 * ```
 */
export function compressorCompliance(
  makeCompressor: () => Compressor | Promise<Compressor>,
  options: CompressorComplianceOptions = {},
): ComplianceCase[] {
  const { make, closeAll } = closing(makeCompressor);
  const seed = options.seed ?? 7;
  const maxBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const trials = options.corruptionTrials ?? 300;
  return withCleanup([
    {
      name: "round-trips every payload exactly",
      async run() {
        const compressor = await make();
        for (const [label, data] of payloads(seed)) {
          const frame = await compressor.compress(data);
          assert.ok(frame instanceof Uint8Array, `${label}: compress must return bytes`);
          const back = await compressor.decompress(frame);
          assert.equal(back.length, data.length, `${label}: length`);
          assert.ok(sameBytes(back, data), `${label}: content differs after the round trip`);
        }
      },
    },
    {
      name: "writes self-describing frames naming its codec",
      async run() {
        const compressor = await make();
        const data = sampleJson(4096, seed);
        const header = decodeFrameHeader(await compressor.compress(data), Number.MAX_SAFE_INTEGER);
        const declared = [compressor.codec, ...(compressor.codecs ?? [])];
        assert.ok(declared.includes(header.codec), `frame names "${header.codec}", not one of ${declared.join(", ")}`);
        assert.equal(header.originalLength, data.length);
      },
    },
    {
      name: "never returns wrong data for a corrupted frame",
      async run() {
        const compressor = await make();
        const data = sampleJson(16 * 1024, seed);
        const frame = await compressor.compress(data);
        const random = seededRandom(seed);
        const positions = [
          ...Array.from({ length: Math.min(frame.length, 48) }, (_, i) => i),
          ...Array.from({ length: trials }, () => Math.floor(random.next() * frame.length)),
        ];
        for (const position of positions) {
          const corrupt = frame.slice();
          corrupt[position] ^= 1 << Math.floor(random.next() * 8);
          try {
            const back = await compressor.decompress(corrupt);
            assert.ok(sameBytes(back, data), `flip at byte ${position} returned different data`);
          } catch (error) {
            assert.ok(error instanceof SwitchyardError && TYPED_CODES.has(error.code), `flip at ${position}: ${error}`);
          }
        }
      },
    },
    {
      name: "rejects truncated frames with a typed error",
      async run() {
        const compressor = await make();
        const frame = await compressor.compress(sampleJson(8 * 1024, seed));
        const random = seededRandom(seed + 1);
        const lengths = new Set([0, 1, 2, 3, 10, 20, frame.length - 1]);
        for (let i = 0; i < 40; i++) lengths.add(Math.floor(random.next() * frame.length));
        for (const length of lengths) {
          await assertTypedRejection(compressor.decompress(frame.subarray(0, length)), `truncated to ${length}`);
        }
      },
    },
    {
      name: "rejects foreign input with a typed error",
      async run() {
        const compressor = await make();
        const foreign: [string, unknown][] = [
          ["random bytes", randomBytes(4096, seed + 2)],
          ["JSON text", new TextEncoder().encode('{"not":"a frame"}')],
          ["gzip header", new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
          ["a string", "SY\u0001"],
          ["null", null],
        ];
        for (const [label, input] of foreign) {
          await assertTypedRejection(compressor.decompress(input as Uint8Array), label);
        }
      },
    },
    {
      name: "rejects a frame claiming more than the limit before decoding it",
      async run() {
        const compressor = await make();
        const frame = await compressor.compress(new TextEncoder().encode("tiny"));
        const lengthAt = 4 + frame[3] + 2;
        new DataView(frame.buffer, frame.byteOffset).setUint32(lengthAt, Math.min(maxBytes + 1, 0xffffffff), true);
        await assert.rejects(compressor.decompress(frame), (error: unknown) => {
          assert.ok(error instanceof SwitchyardError);
          assert.equal(error.code, "FRAME_TOO_LARGE");
          return true;
        });
      },
    },
    {
      name: "handles concurrent calls independently",
      async run() {
        const compressor = await make();
        const inputs = Array.from({ length: 16 }, (_, i) => sampleJson(2048 + i * 512, seed + i));
        const frames = await Promise.all(inputs.map((input) => compressor.compress(input)));
        const outputs = await Promise.all(frames.map((frame) => compressor.decompress(frame)));
        outputs.forEach((output, i) => assert.ok(sameBytes(output, inputs[i]), `call ${i} mixed up`));
      },
    },
  ], closeAll);
}
