import assert from "node:assert/strict";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SwitchyardError } from "../../core/util/errors.ts";
import { FileWal } from "../../plugins/consensus-raft/file_wal.ts";
import type { Entry } from "../../plugins/consensus-raft/types.ts";
import { RecordingMachine } from "../../testing/consensus.ts";
import { startRaftCluster } from "../support/raft_cluster.ts";

const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  kind: "command",
  data: new TextEncoder().encode(text),
});

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = join(tmpdir(), `switchyard-wal-${crypto.randomUUID()}`);
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function writeSome(directory: string): Promise<FileWal> {
  const wal = new FileWal(directory);
  assert.equal(await wal.load(), null, "a new directory has no state");
  await wal.save({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], hardState: { term: 1, vote: "a", commit: 1 } });
  await wal.save({ entries: [entry(3, 2, "replaced"), entry(4, 2)], hardState: { term: 2, vote: null, commit: 3 } });
  return wal;
}

Deno.test("file WAL: replays entries (with overwrites) and hard state; one sync per save", async () => {
  await withDirectory(async (directory) => {
    const wal = await writeSome(directory);
    assert.equal(wal.syncs, 2);
    await wal.close();
    const reopened = new FileWal(directory);
    const state = await reopened.load();
    assert.deepEqual(state?.hardState, { term: 2, vote: null, commit: 3 });
    assert.deepEqual(state?.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 1], [3, 2], [4, 2]]);
    assert.equal(new TextDecoder().decode(state?.entries[2].data), "replaced");
    assert.deepEqual(reopened.recovery, { records: 2, tornTailBytes: 0 }, "one record per save");
    await reopened.close();
  });
});

Deno.test("file WAL: a torn tail is cut off and reported, and the log keeps working", async () => {
  await withDirectory(async (directory) => {
    await (await writeSome(directory)).close();
    const path = join(directory, "raft.wal");
    const bytes = await readFile(path);
    for (const cut of [1, 7, 20]) {
      await writeFile(path, bytes.subarray(0, bytes.byteLength - cut));
      const wal = new FileWal(directory);
      const state = await wal.load();
      assert.ok(wal.recovery.tornTailBytes > 0, `cut ${cut}: torn tail reported`);
      assert.equal(state?.entries[0].index, 1, `cut ${cut}: the records before the tear survive`);
      assert.equal((await stat(path)).size, wal.fileBytes, "the file was truncated to its valid prefix");
      await wal.save({ entries: [entry(5, 3)], hardState: { term: 3, vote: null, commit: 4 } });
      await wal.close();
      const again = new FileWal(directory);
      const reloaded = await again.load();
      assert.equal(again.recovery.tornTailBytes, 0);
      assert.equal(reloaded?.hardState.term, 3);
      assert.equal(reloaded?.entries.at(-1)?.index, 5);
      await again.close();
      await writeFile(path, bytes);
    }
  });
});

Deno.test("file WAL: a damaged last record is a torn tail; damage before good records refuses to load", async () => {
  await withDirectory(async (directory) => {
    await (await writeSome(directory)).close();
    const path = join(directory, "raft.wal");
    const bytes = new Uint8Array(await readFile(path));

    const lastByte = bytes.slice();
    lastByte[lastByte.byteLength - 1] ^= 0xff;
    await writeFile(path, lastByte);
    const wal = new FileWal(directory);
    const state = await wal.load();
    assert.ok(wal.recovery.tornTailBytes > 0);
    // The last record is the whole second save (its entries and hard state): the first save survives.
    assert.equal(state?.entries.length, 3, "the good record before it survives");
    assert.deepEqual(state?.hardState, { term: 1, vote: "a", commit: 1 });
    assert.equal(wal.recovery.tornTail?.damage, "body");
    await wal.close();

    const middle = bytes.slice();
    middle[30] ^= 0xff; // inside the first record's header
    await writeFile(path, middle);
    await assert.rejects(
      new FileWal(directory).load(),
      (error) =>
        error instanceof SwitchyardError && error.code === "STORAGE_CORRUPT" &&
        /damaged record at byte 16: .* a valid record follows at byte \d+/.test(error.message),
    );
    assert.deepEqual(new Uint8Array(await readFile(path)), middle, "the file is left as it was");
  });
});

Deno.test("file WAL: compaction drops covered entries and rewrites the file atomically when it is mostly obsolete", async () => {
  await withDirectory(async (directory) => {
    const wal = new FileWal(directory, { rewriteSlackBytes: 100 });
    await wal.load();
    const big = "x".repeat(500);
    await wal.save({
      entries: [1, 2, 3, 4].map((i) => entry(i, 1, big)),
      hardState: { term: 1, vote: null, commit: 4 },
    });
    const before = wal.fileBytes;
    await wal.compact({ index: 3, term: 1, members: ["a"], data: new TextEncoder().encode("state@3") });
    assert.ok(wal.fileBytes < before, `rewritten: ${wal.fileBytes} < ${before} bytes`);
    await wal.close();
    const reopened = new FileWal(directory);
    const state = await reopened.load();
    assert.equal(state?.snapshot.index, 3);
    assert.equal(new TextDecoder().decode(state?.snapshot.data), "state@3");
    assert.deepEqual(state?.entries.map((e) => e.index), [4]);
    assert.deepEqual(state?.hardState, { term: 1, vote: null, commit: 4 });
    await reopened.close();
  });
});

Deno.test("raft driver: a node restarted on its file WAL recovers its state from the snapshot and the log", async () => {
  await withDirectory(async (directory) => {
    const first = new RecordingMachine();
    const cluster = await startRaftCluster([first], { storage: () => new FileWal(directory), snapshotEveryEntries: 8 });
    const [node] = cluster.replicas;
    while (node.stats().role !== "leader") await cluster.clock.advance(10);
    for (let i = 0; i < 20; i++) await node.propose(new TextEncoder().encode(`c${i}`));
    assert.ok(node.stats().snapshotIndex > 0, "a snapshot was taken");
    await cluster.close();

    const second = new RecordingMachine();
    const restarted = await startRaftCluster([second], { storage: () => new FileWal(directory) });
    while (restarted.replicas[0].stats().role !== "leader") await restarted.clock.advance(10);
    await restarted.replicas[0].read();
    assert.deepEqual(second.commands, first.commands);
    assert.equal(second.commands.length, 20);
    await restarted.close();
  });
});
