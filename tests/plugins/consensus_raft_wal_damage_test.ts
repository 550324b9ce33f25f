// Every kind of damage at every region of a write-ahead log of 100 acknowledged saves: only damage
// that can be the final, unsynced write is cut as a torn tail (its bytes kept beside the log); all other
// damage refuses to load with STORAGE_CORRUPT naming the byte offset, and leaves the file byte for byte.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { xxhash32 } from "../../core/util/xxhash32.ts";
import { FileWal } from "../../plugins/consensus-raft/file_wal.ts";
import type { Entry, HardState } from "../../plugins/consensus-raft/types.ts";
import { WalCorruptError, type WalDamage } from "../../plugins/wal-kit/format.ts";

const SAVES = 100;
const hardStateOf = (i: number): HardState => ({ term: 1 + Math.floor(i / 10), vote: `n${i % 3}`, commit: i });
const entryOf = (i: number): Entry => ({
  index: i + 1,
  term: 1 + Math.floor(i / 10),
  kind: "command",
  data: new TextEncoder().encode(`entry ${i} `.padEnd(100, "x")),
});

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = join(tmpdir(), `switchyard-wal-damage-${crypto.randomUUID()}`);
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** A log of 100 saves (one entry and a hard state each), and where each record starts. */
async function healthyLog(): Promise<{ bytes: Uint8Array; starts: number[] }> {
  let bytes = new Uint8Array();
  await withDirectory(async (directory) => {
    const wal = new FileWal(directory);
    await wal.load();
    for (let i = 0; i < SAVES; i++) await wal.save({ entries: [entryOf(i)], hardState: hardStateOf(i) });
    await wal.close();
    bytes = new Uint8Array(await readFile(join(directory, "raft.wal")));
  });
  const starts: number[] = [];
  const view = new DataView(bytes.buffer);
  for (let at = 16; at < bytes.byteLength; at += 24 + view.getUint32(at)) starts.push(at);
  assert.equal(starts.length, SAVES, "one record per save");
  return { bytes, starts };
}

interface Damage {
  name: string;
  /** What the scan must name. */
  damage: WalDamage;
  apply(bytes: Uint8Array, start: number, end: number): Uint8Array;
}

const flip =
  (at: (start: number, end: number) => number, mask: number) => (bytes: Uint8Array, start: number, end: number) => {
    const out = bytes.slice();
    out[at(start, end)] ^= mask;
    return out;
  };
const zeros = (from: (start: number) => number, length: number) => (bytes: Uint8Array, start: number) => {
  const at = from(start);
  const out = new Uint8Array(Math.max(bytes.byteLength, at + length)); // past the end: a tail that grew with zeros
  out.set(bytes);
  out.fill(0, at, at + length);
  return out;
};

const DAMAGES: Damage[] = [
  { name: "a length byte flipped", damage: "header", apply: flip((s) => s + 3, 0x40) },
  { name: "the type byte flipped", damage: "header", apply: flip((s) => s + 12, 0x03) },
  { name: "an offset byte flipped", damage: "header", apply: flip((s) => s + 11, 0x01) },
  { name: "the body checksum flipped", damage: "header", apply: flip((s) => s + 16, 0x80) },
  { name: "the header checksum flipped", damage: "header", apply: flip((s) => s + 23, 0x01) },
  { name: "a body byte flipped", damage: "body", apply: flip((s, e) => (s + 24 + e) >> 1, 0x10) },
  { name: "64 zero bytes over the header", damage: "header", apply: zeros((s) => s + 8, 64) },
  { name: "64 zero bytes in the body", damage: "body", apply: zeros((s) => s + 40, 64) },
  { name: "4 KiB of zeros from the record on", damage: "zeros", apply: zeros((s) => s, 4096) },
  { name: "cut inside the record", damage: "truncated", apply: (bytes, start) => bytes.slice(0, start + 30) },
];

const REGIONS = [
  { name: "first", record: 0 },
  { name: "middle", record: 50 },
  { name: "last", record: SAVES - 1 },
];

/** The outcome each case must have. */
function expected(region: string, damage: Damage): "torn" | "corrupt" {
  if (region === "last") return "torn";
  // The file ends inside the record: exactly what a crash during the final write leaves; the WAL cannot
  // know that more was there (see the README's fault model).
  return damage.damage === "truncated" ? "torn" : "corrupt";
}

Deno.test("file WAL damage matrix: every kind of damage at the first, middle and last record", async () => {
  const { bytes, starts } = await healthyLog();
  for (const region of REGIONS) {
    for (const damage of DAMAGES) {
      const label = `${damage.name}, ${region.name} record`;
      const start = starts[region.record];
      const end = starts[region.record + 1] ?? bytes.byteLength;
      const damaged = damage.apply(bytes, start, end);
      await withDirectory(async (directory) => {
        await mkdir(directory, { recursive: true });
        const path = join(directory, "raft.wal");
        await writeFile(path, damaged);
        const wal = new FileWal(directory);
        if (expected(region.name, damage) === "corrupt") {
          await assert.rejects(wal.load(), (error: unknown) => {
            assert.ok(error instanceof WalCorruptError, `${label}: ${error}`);
            assert.equal(error.code, "STORAGE_CORRUPT");
            assert.equal(error.offset, start, `${label}: ${error.message}`);
            assert.equal(error.damage, damage.damage, `${label}: ${error.message}`);
            assert.match(error.message, new RegExp(`damaged record at byte ${start}: `), label);
            return true;
          });
          assert.deepEqual(new Uint8Array(await readFile(path)), damaged, `${label}: the file is untouched`);
          assert.deepEqual(await readdir(directory), ["raft.wal"], `${label}: nothing else written`);
          return;
        }
        const state = await wal.load();
        const kept = region.record;
        assert.equal(wal.recovery.tornTail?.offset, start, label);
        assert.equal(wal.recovery.tornTail?.damage, damage.damage, `${label}: ${wal.recovery.tornTail?.reason}`);
        assert.equal(wal.recovery.tornTailBytes, damaged.byteLength - start, label);
        assert.equal(wal.recovery.records, kept, label);
        assert.deepEqual(
          state?.entries.map((e) => e.index) ?? [],
          Array.from({ length: kept }, (_, i) => i + 1),
          label,
        );
        assert.deepEqual(state?.hardState, kept === 0 ? undefined : hardStateOf(kept - 1), `${label}: hard state`);
        assert.deepEqual(new Uint8Array(await readFile(path)), bytes.subarray(0, start), `${label}: cut at the tear`);
        assert.deepEqual(
          new Uint8Array(await readFile(wal.recovery.tornTail!.copy)),
          damaged.subarray(start),
          `${label}: the bytes cut are kept`,
        );
        // The log goes on from the cut.
        await wal.save({ entries: [entryOf(kept)], hardState: hardStateOf(kept) });
        await wal.close();
        const again = new FileWal(directory);
        const reloaded = await again.load();
        assert.equal(again.recovery.tornTailBytes, 0, label);
        assert.deepEqual(reloaded?.hardState, hardStateOf(kept), label);
        assert.equal(reloaded?.entries.length, kept + 1, label);
        await again.close();
      });
    }
  }
});

Deno.test("file WAL: damage in the record before the final one is corruption, even with nothing valid after it", async () => {
  const { bytes, starts } = await healthyLog();
  const start = starts[SAVES - 2];
  const cases: [string, Uint8Array, WalDamage][] = [
    ["a body byte of the next-to-last record", flip((s) => s + 60, 0x01)(bytes, start, starts[SAVES - 1]), "body"],
    // Zeros from inside its body to past the end: its header still says where it ends, and bytes follow.
    ["4 KiB of zeros from its body on", zeros((s) => s + 40, 4096)(bytes, start), "body"],
  ];
  for (const [label, damaged, damage] of cases) {
    await withDirectory(async (directory) => {
      await mkdir(directory, { recursive: true });
      await writeFile(join(directory, "raft.wal"), damaged);
      await assert.rejects(new FileWal(directory).load(), (error: unknown) => {
        assert.ok(error instanceof WalCorruptError, String(error));
        assert.equal(error.offset, start, label);
        assert.equal(error.damage, damage, label);
        assert.match(error.message, /bytes follow it, so it was synced/, label);
        return true;
      });
      assert.deepEqual(new Uint8Array(await readFile(join(directory, "raft.wal"))), damaged, label);
    });
  }
});

Deno.test("file WAL: a shifted region (a record copied to another offset) is not taken for a record", async () => {
  const { bytes, starts } = await healthyLog();
  // Record 10 is replaced by a copy of record 11 (same length): both checksums hold, the offset does not.
  const damaged = bytes.slice();
  damaged.set(bytes.subarray(starts[11], starts[12]), starts[10]);
  await withDirectory(async (directory) => {
    await mkdir(directory, { recursive: true });
    await writeFile(join(directory, "raft.wal"), damaged);
    await assert.rejects(new FileWal(directory).load(), (error: unknown) => {
      assert.ok(error instanceof WalCorruptError, String(error));
      assert.equal(error.offset, starts[10]);
      assert.equal(error.damage, "misplaced");
      assert.match(error.message, new RegExp(`written for byte ${starts[11]}`));
      return true;
    });
  });
});

Deno.test("file WAL: a crash while creating the log leaves a partial header, which starts afresh", async () => {
  await withDirectory(async (directory) => {
    await mkdir(directory, { recursive: true });
    const path = join(directory, "raft.wal");
    const wal = new FileWal(directory);
    await wal.load();
    await wal.close();
    const header = new Uint8Array(await readFile(path));
    assert.equal(header.byteLength, 16);
    await writeFile(path, header.subarray(0, 5));
    const again = new FileWal(directory);
    assert.equal(await again.load(), null);
    await again.save({ entries: [entryOf(0)], hardState: hardStateOf(0) });
    await again.close();
    const reopened = new FileWal(directory);
    assert.deepEqual((await reopened.load())?.hardState, hardStateOf(0));
    await reopened.close();
  });
});

Deno.test("file WAL: a format 1 log and a foreign file are refused with a clear error, untouched", async () => {
  // Format 1: records `u32 length · u32 xxHash32(type ‖ body) · u8 type · body` from the first byte.
  const body = new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0]);
  const typed = new Uint8Array([2, ...body]);
  const old = new Uint8Array(8 + typed.byteLength);
  new DataView(old.buffer).setUint32(0, body.byteLength);
  new DataView(old.buffer).setUint32(4, xxhash32(typed));
  old.set(typed, 8);
  const cases: [Uint8Array, RegExp][] = [
    [old, /written in format 1 .* this version reads format 2 only/],
    [new TextEncoder().encode("hello, this is not a log at all"), /not a Switchyard write-ahead log/],
  ];
  for (const [bytes, pattern] of cases) {
    await withDirectory(async (directory) => {
      await mkdir(directory, { recursive: true });
      await writeFile(join(directory, "raft.wal"), bytes);
      await assert.rejects(new FileWal(directory).load(), (error: unknown) => {
        assert.ok(error instanceof WalCorruptError && error.damage === "file-header", String(error));
        assert.match(error.message, pattern);
        return true;
      });
      assert.deepEqual(new Uint8Array(await readFile(join(directory, "raft.wal"))), bytes);
    });
  }
});
