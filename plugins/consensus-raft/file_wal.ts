/**
 * A file write-ahead log for Raft: every update is appended as one
 * checksummed record and synced (`fdatasync`) before `save` resolves, one
 * sync per update however many entries it carries (the driver batches). On
 * load the log is replayed (format and recovery rules in `wal_format.ts`):
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
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { SwitchyardError } from "../../core/errors.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { readEntry, readSnapshot, writeEntry, writeSnapshot } from "./codec.ts";
import type { RaftDurableState } from "./raft.ts";
import { applyCompaction, applyUpdate, emptyState, type RaftStorage, type StorageUpdate } from "./storage.ts";
import type { Snapshot } from "./types.ts";
import {
  checkFileHeader,
  encodeRecord,
  FILE_HEADER_BYTES,
  fileHeader,
  RecordType,
  scanRecords,
  type TornTail,
  type WalRecord,
} from "./wal_format.ts";

const WAL_FILE = "raft.wal";
/** Rewrite the file once it is this much bigger than what it holds. */
const REWRITE_SLACK_BYTES = 64 * 1024 * 1024;
/** Flags of an update record's body. */
const HAS_SNAPSHOT = 1;
const HAS_ENTRIES = 2;
const HAS_HARD_STATE = 4;

type FileHandle = Awaited<ReturnType<typeof open>>;

/** What loading found besides the state. */
export interface WalRecovery {
  /** Records replayed. */
  records: number;
  /** Bytes cut off a torn tail (0 when the file ended cleanly). */
  tornTailBytes: number;
  /** Where the torn tail started, what was wrong there, and the file its bytes were kept in. */
  tornTail?: TornTail & { copy: string };
}

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
  /** What the last `load` found. */
  recovery: WalRecovery = { records: 0, tornTailBytes: 0 };
  /** Syncs done (one per `save` or `compact`). */
  syncs = 0;
  #file: FileHandle | undefined;
  #state: RaftDurableState = emptyState();
  #fileBytes = 0;
  #queue: Promise<unknown> = Promise.resolve();

  readonly #rewriteSlackBytes: number;

  /**
   * A log in `directory` (created when missing). The file is rewritten once
   * it holds `rewriteSlackBytes` more than the live state (default 64 MiB).
   */
  constructor(directory: string, options: { rewriteSlackBytes?: number } = {}) {
    this.directory = directory;
    this.#rewriteSlackBytes = options.rewriteSlackBytes ?? REWRITE_SLACK_BYTES;
  }

  /** Current size of the log file in bytes. */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  get #path(): string {
    return join(this.directory, WAL_FILE);
  }

  /**
   * Replays the log. Cuts off and reports a torn tail (keeping its bytes in
   * `raft.wal.torn-<offset>`); throws a `WalCorruptError` (`STORAGE_CORRUPT`)
   * for any other damage, without changing the file.
   */
  async load(): Promise<RaftDurableState | null> {
    await mkdir(this.directory, { recursive: true });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.#path));
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
      bytes = new Uint8Array();
    }
    if (checkFileHeader(bytes, this.#path) === "partial") {
      // A crash while creating the log: nothing was ever stored in it.
      await this.#create();
      this.#state = emptyState();
      this.recovery = { records: 0, tornTailBytes: 0 };
      return null;
    }
    const state = emptyState();
    const { records, validBytes, torn } = scanRecords(bytes, this.#path, (record) => replayRecord(state, record));
    this.#state = state;
    this.recovery = { records, tornTailBytes: bytes.byteLength - validBytes };
    const file = await open(this.#path, "r+");
    try {
      if (torn) {
        const copy = await this.#keepTornTail(bytes.subarray(validBytes), validBytes);
        this.recovery.tornTail = { ...torn, copy };
        await file.truncate(validBytes);
        await file.datasync();
      }
    } catch (error) {
      await file.close();
      throw error;
    }
    this.#file = file;
    this.#fileBytes = validBytes;
    if (records === 0) return null;
    return { hardState: { ...state.hardState }, snapshot: state.snapshot, entries: [...state.entries] };
  }

  /** Appends an update as one record and syncs it. */
  save(update: StorageUpdate): Promise<void> {
    return this.#serial(async () => {
      const writer = new ByteWriter();
      writeUpdate(writer, update);
      await this.#append(RecordType.Update, writer.finish());
      applyUpdate(this.#state, update);
    });
  }

  /** Records a local snapshot (synced); rewrites the file when most of it is obsolete. */
  compact(snapshot: Snapshot): Promise<void> {
    return this.#serial(async () => {
      const writer = new ByteWriter();
      writeSnapshot(writer, snapshot);
      await this.#append(RecordType.Compaction, writer.finish());
      applyCompaction(this.#state, snapshot);
      const live = liveBytes(this.#state);
      if (this.#fileBytes > live + this.#rewriteSlackBytes) await this.#rewrite();
    });
  }

  /** Waits for pending writes and closes the file. */
  close(): Promise<void> {
    return this.#serial(async () => {
      await this.#file?.close();
      this.#file = undefined;
    });
  }

  #serial(work: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => {});
    return next;
  }

  /**
   * Writes a record at the end of what the log holds (by position, so a
   * write that failed half-way is overwritten by the next) and syncs it.
   */
  async #append(type: number, body: Uint8Array): Promise<void> {
    const file = this.#file;
    if (!file) {
      throw new SwitchyardError("CONSENSUS_CLOSED", `write-ahead log ${this.#path} is not open (load it first)`);
    }
    const bytes = encodeRecord(type, body, this.#fileBytes);
    await writeAll(file, bytes, this.#fileBytes);
    await file.datasync();
    this.#fileBytes += bytes.byteLength;
    this.syncs++;
  }

  /** Creates the log with its header, synced, and opens it. */
  async #create(): Promise<void> {
    await this.#file?.close();
    const file = await open(this.#path, "w+");
    const header = fileHeader();
    await writeAll(file, header, 0);
    await file.datasync();
    await this.#syncDirectory();
    this.#file = file;
    this.#fileBytes = header.byteLength;
  }

  /** Keeps the bytes of a torn tail in a new file beside the log (synced) and returns its path. */
  async #keepTornTail(bytes: Uint8Array, offset: number): Promise<string> {
    for (let attempt = 0;; attempt++) {
      const path = `${this.#path}.torn-${offset}${attempt === 0 ? "" : `.${attempt}`}`;
      let file: FileHandle;
      try {
        file = await open(path, "wx");
      } catch (error) {
        if ((error as { code?: string }).code === "EEXIST") continue;
        throw error;
      }
      try {
        await writeAll(file, bytes, 0);
        await file.datasync();
      } finally {
        await file.close();
      }
      await this.#syncDirectory();
      return path;
    }
  }

  async #syncDirectory(): Promise<void> {
    const directory = await open(this.directory, "r");
    await directory.sync().catch(() => {}); // not every platform syncs directories
    await directory.close();
  }

  /** Writes the live state to a new file, syncs it, and renames it over the old one. */
  async #rewrite(): Promise<void> {
    const state = this.#state;
    const writer = new ByteWriter();
    writeUpdate(writer, { snapshot: state.snapshot, entries: state.entries, hardState: state.hardState });
    const header = fileHeader();
    const record = encodeRecord(RecordType.Update, writer.finish(), FILE_HEADER_BYTES);
    const temporary = `${this.#path}.rewrite`;
    await rm(temporary, { force: true });
    const fresh = await open(temporary, "w");
    await writeAll(fresh, header, 0);
    await writeAll(fresh, record, header.byteLength);
    await fresh.datasync();
    await fresh.close();
    await rename(temporary, this.#path);
    await this.#syncDirectory();
    await this.#file?.close();
    this.#file = await open(this.#path, "r+");
    this.#fileBytes = header.byteLength + record.byteLength;
  }
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, written, bytes.byteLength - written, position + written);
    written += bytesWritten;
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
  if (record.type === RecordType.Compaction) {
    applyCompaction(state, readSnapshot(reader));
  } else {
    const flags = reader.u8();
    if (flags & ~(HAS_SNAPSHOT | HAS_ENTRIES | HAS_HARD_STATE)) throw new Error(`unknown update flags ${flags}`);
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
  if (reader.remaining !== 0) throw new Error(`${reader.remaining} bytes left after the record's contents`);
}

function liveBytes(state: RaftDurableState): number {
  return state.snapshot.data.byteLength + state.entries.reduce((sum, entry) => sum + entry.data.byteLength + 21, 0);
}
