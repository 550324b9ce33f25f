import assert from "node:assert/strict";
import { seededRandom, SwitchyardError } from "../../mod.ts";
import { encodeClientCommand } from "../../plugins/consensus-kit/mod.ts";
import {
  type AdaptiveEntry,
  decodeEntry,
  encodeEntry,
  MAX_REASON_BYTES,
} from "../../plugins/consensus-adaptive/entries.ts";

const ENTRIES: AdaptiveEntry[] = [
  { kind: "command", bytes: encodeClientCommand(new Uint8Array([1, 2, 3]), { clientId: "c1", sequence: 7 }) },
  { kind: "command", bytes: new Uint8Array() },
  {
    kind: "report",
    member: "n1",
    atMs: 1_700_000_000_123.5,
    summary: { rttMs: 0.3, bandwidthMbps: 25_000, lossRatio: 0 },
  },
  { kind: "report", member: "ñ-2", atMs: 0, summary: { rttMs: 80 } },
  { kind: "report", member: "n3", atMs: 5, summary: {} },
  { kind: "force", member: "n4", atMs: 9, mode: "internet", reason: "drill" },
  { kind: "force", member: "n4", atMs: 10, mode: null, reason: "" },
];

const invalid = (error: unknown) => error instanceof SwitchyardError && error.code === "FRAME_INVALID";

Deno.test("adaptive entries: every kind survives encoding, and no entry starts with the client-command marker", () => {
  for (const entry of ENTRIES) {
    const bytes = encodeEntry(entry);
    assert.notEqual(bytes[0], 0xff, "an engine's deduplication layer must read it as a plain command");
    assert.deepEqual(decodeEntry(bytes), entry);
  }
});

Deno.test("adaptive entries: every cut, a byte too many and an unknown tag are refused with FRAME_INVALID", () => {
  for (const entry of ENTRIES.filter((candidate) => candidate.kind !== "command")) {
    const bytes = encodeEntry(entry);
    for (let length = 0; length < bytes.byteLength; length++) {
      assert.throws(() => decodeEntry(bytes.subarray(0, length)), invalid, `${entry.kind} cut at ${length}`);
    }
    assert.throws(() => decodeEntry(Uint8Array.from([...bytes, 0])), /after its last field/);
  }
  assert.throws(() => decodeEntry(Uint8Array.of(9)), /tag 9 is not an entry kind/);
});

Deno.test("adaptive entries: out-of-range fields are refused on both sides, naming the field", () => {
  const report = encodeEntry(ENTRIES[2]);
  const view = new DataView(report.buffer);
  const measureAt = 2 + 2 + 8; // tag, member length, "n1", atMs
  view.setFloat64(measureAt, -1);
  assert.throws(() => decodeEntry(report), /summary.rttMs must be 0 or more/);
  view.setFloat64(measureAt + 16, 1.5);
  view.setFloat64(measureAt, 1);
  assert.throws(() => decodeEntry(report), /summary.lossRatio must be at most 1/);
  view.setFloat64(2 + 2, Number.POSITIVE_INFINITY);
  assert.throws(() => decodeEntry(report), /atMs must be a finite number/);
  const force = encodeEntry(ENTRIES[5]);
  force[2 + 2 + 8] = 7;
  assert.throws(() => decodeEntry(force), /mode code 7 is not a mode/);
  assert.throws(() => encodeEntry({ kind: "report", member: "", atMs: 1, summary: {} }), /member must be 1 to 255/);
  assert.throws(() => encodeEntry({ kind: "report", member: "x".repeat(256), atMs: 1, summary: {} }), /member/);
  assert.throws(() => encodeEntry({ kind: "report", member: "n1", atMs: Number.NaN, summary: {} }), /atMs/);
  assert.throws(() => encodeEntry({ kind: "report", member: "n1", atMs: 1, summary: { rttMs: -2 } }), /rttMs/);
  assert.throws(
    () => encodeEntry({ kind: "force", member: "n1", atMs: 1, mode: null, reason: "r".repeat(MAX_REASON_BYTES + 1) }),
    /reason must be 0 to 1024 bytes/,
  );
  assert.throws(() => encodeEntry({ kind: "force", member: "n1", atMs: 1, mode: "warp" as never, reason: "" }), /mode/);
  const badUtf8 = encodeEntry(ENTRIES[2]);
  badUtf8[2] = 0xc3;
  badUtf8[3] = 0x28;
  assert.throws(() => decodeEntry(badUtf8), /member is not UTF-8/);
});

Deno.test("adaptive entries: 50,000 random and bit-flipped entries decode or fail with FRAME_INVALID, nothing else", () => {
  const random = seededRandom(15);
  const encoded = ENTRIES.map(encodeEntry);
  for (let i = 0; i < 50_000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = encoded[i % encoded.length].slice();
      const flips = 1 + Math.floor(random.next() * 3);
      for (let f = 0; f < flips && bytes.byteLength > 0; f++) {
        bytes[Math.floor(random.next() * bytes.byteLength)] ^= 1 << Math.floor(random.next() * 8);
      }
    } else {
      bytes = Uint8Array.from({ length: Math.floor(random.next() * 64) }, () => Math.floor(random.next() * 256));
      if (bytes.byteLength > 0) bytes[0] = 2 + Math.floor(random.next() * 2);
    }
    try {
      const entry = decodeEntry(bytes);
      assert.deepEqual(decodeEntry(encodeEntry(entry)), entry, "what decodes encodes back to the same entry");
    } catch (error) {
      if (!invalid(error)) throw error;
    }
  }
});
