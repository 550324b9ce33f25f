/**
 * A file write-ahead log for Raft: every update is appended as one
 * checksummed record and synced (`fdatasync`) before `save` resolves, one
 * sync per update however many entries it carries (the driver batches). On
 * load the log is replayed (format and recovery rules in `../wal-kit/format.ts`):
 *
 * - a torn tail, damage that can only be the final write, never synced and
 *   so never acknowledged, is cut off and reported (`recovery`); the bytes
 *   cut are first kept in `raft.wal.torn-<offset>` beside the log;
 * - any other damage (a bad record with anything valid after it, or a bad
 *   record that is not at the end of the file) refuses to load with
 *   `STORAGE_CORRUPT` naming the byte offset and what was wrong, and leaves
 *   the file as it is.
 *
 * When snapshots make most of the file obsolete, it is rewritten to a new
 * file and renamed into place atomically.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import { join } from "node:path";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { readEntry, readSnapshot, writeEntry, writeSnapshot } from "./codec.ts";
import type { RaftDurableState } from "./raft.ts";
import { applyCompaction, applyUpdate, emptyState, type RaftStorage, type StorageUpdate } from "./storage.ts";
import type { Snapshot } from "./types.ts";
import type { WalRecord } from "../wal-kit/format.ts";
import { RecordFile, type RecordFileRecovery } from "../wal-kit/record_file.ts";

const WAL_FILE = "raft.wal";
/** Rewrite the file once it is this much bigger than what it holds. */
const REWRITE_SLACK_BYTES = 64 * 1024 * 1024;
/** Record types. */
const UPDATE = 1; // one `save`: flags, then an optional snapshot, entries and an optional hard state
const COMPACTION = 2; // a local snapshot: drops the entries it covers
/** Flags of an update record's body. */
const HAS_SNAPSHOT = 1;
const HAS_ENTRIES = 2;
const HAS_HARD_STATE = 4;

/** What loading found besides the state. */
export type WalRecovery = RecordFileRecovery;

/**
 * The file log of one node, in `directory`.
 *
 * @example
 * ```ts
 * import { FileWal } from "./file_wal.ts";
 * const wal = new FileWal("/var/lib/switchyard/node-1");
 * const state = await wal.load(); // null the first time
 * await wal.save({ entries: [], hardState: { term: 1, vote: null, commit: 0 } });
 * await wal.close();
 * ```
 */
export class FileWal implements RaftStorage {
  /** The directory holding the log. */
  readonly directory: string;
  readonly #file: RecordFile;
  #state: RaftDurableState = emptyState();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #rewriteSlackBytes: number;

  /**
   * A log in `directory` (created when missing). The file is rewritten once
   * it holds `rewriteSlackBytes` more than the live state (default 64 MiB).
   */
  constructor(directory: string, options: { rewriteSlackBytes?: number } = {}) {
    this.directory = directory;
    this.#file = new RecordFile(join(directory, WAL_FILE), [UPDATE, COMPACTION]);
    this.#rewriteSlackBytes = options.rewriteSlackBytes ?? REWRITE_SLACK_BYTES;
  }

  /** What the last `load` found. */
  get recovery(): WalRecovery {
    return this.#file.recovery;
  }

  /** Syncs done (one per `save` or `compact`). */
  get syncs(): number {
    return this.#file.syncs;
  }

  /** Current size of the log file in bytes. */
  get fileBytes(): number {
    return this.#file.fileBytes;
  }

  /**
   * Replays the log. Cuts off and reports a torn tail (keeping its bytes in
   * `raft.wal.torn-<offset>`); throws a `WalCorruptError` (`STORAGE_CORRUPT`)
   * for any other damage, without changing the file.
   */
  async load(): Promise<RaftDurableState | null> {
    const state = emptyState();
    const records = await this.#file.load((record) => replayRecord(state, record));
    this.#state = state;
    if (records === 0) return null;
    return { hardState: { ...state.hardState }, snapshot: state.snapshot, entries: [...state.entries] };
  }

  /** Appends an update as one record and syncs it. */
  save(update: StorageUpdate): Promise<void> {
    return this.#serial(async () => {
      const writer = new ByteWriter();
      writeUpdate(writer, update);
      await this.#file.append(UPDATE, writer.finish());
      applyUpdate(this.#state, update);
    });
  }

  /** Records a local snapshot (synced); rewrites the file when most of it is obsolete. */
  compact(snapshot: Snapshot): Promise<void> {
    return this.#serial(async () => {
      const writer = new ByteWriter();
      writeSnapshot(writer, snapshot);
      await this.#file.append(COMPACTION, writer.finish());
      applyCompaction(this.#state, snapshot);
      if (this.#file.fileBytes > liveBytes(this.#state) + this.#rewriteSlackBytes) await this.#rewrite();
    });
  }

  /** Waits for pending writes and closes the file. */
  close(): Promise<void> {
    return this.#serial(() => this.#file.close());
  }

  #serial(work: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Writes the live state as one record to a new file, renamed over the old one. */
  #rewrite(): Promise<void> {
    const state = this.#state;
    const writer = new ByteWriter();
    writeUpdate(writer, { snapshot: state.snapshot, entries: state.entries, hardState: state.hardState });
    return this.#file.rewrite([{ type: UPDATE, body: writer.finish() }]);
  }
}

function writeUpdate(writer: ByteWriter, update: StorageUpdate): void {
  const flags = (update.snapshot ? HAS_SNAPSHOT : 0) | (update.entries.length > 0 ? HAS_ENTRIES : 0) |
    (update.hardState ? HAS_HARD_STATE : 0);
  writer.u8(flags);
  if (update.snapshot) writeSnapshot(writer, update.snapshot);
  if (update.entries.length > 0) {
    writer.u32(update.entries.length);
    for (const entry of update.entries) writeEntry(writer, entry);
  }
  if (update.hardState) {
    const { term, vote, commit } = update.hardState;
    writer.f64(term).f64(commit).string(vote ?? "");
  }
}

/** Applies one good record to `state`; throws when its body does not decode. */
function replayRecord(state: RaftDurableState, record: WalRecord): void {
  const reader = new ByteReader(record.body);
  if (record.type === COMPACTION) {
    applyCompaction(state, readSnapshot(reader));
  } else {
    const flags = reader.u8();
    if (flags & ~(HAS_SNAPSHOT | HAS_ENTRIES | HAS_HARD_STATE)) {
      throw new SwitchyardError("FRAME_INVALID", `unknown update flags ${flags}`);
    }
    const update: StorageUpdate = { entries: [] };
    if (flags & HAS_SNAPSHOT) update.snapshot = readSnapshot(reader);
    if (flags & HAS_ENTRIES) update.entries = Array.from({ length: reader.u32() }, () => readEntry(reader));
    if (flags & HAS_HARD_STATE) {
      const term = reader.f64();
      const commit = reader.f64();
      const vote = reader.string();
      update.hardState = { term, commit, vote: vote === "" ? null : vote };
    }
    applyUpdate(state, update);
  }
  if (reader.remaining !== 0) {
    throw new SwitchyardError("FRAME_INVALID", `${reader.remaining} bytes left after the record's contents`);
  }
}

function liveBytes(state: RaftDurableState): number {
  return state.snapshot.data.byteLength + state.entries.reduce((sum, entry) => sum + entry.data.byteLength + 21, 0);
}
