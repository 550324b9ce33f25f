/**
 * A file write-ahead log for Raft: every update is appended as checksummed
 * records and synced (`fdatasync`) before `save` resolves, one sync per
 * update however many entries it carries (the driver batches). On load the
 * log is replayed; a torn tail (a record cut short by a crash, or a bad last
 * record) is cut off and reported, while a bad record followed by good ones
 * is corruption and refuses to load (`STORAGE_CORRUPT`). When snapshots make
 * most of the file obsolete, it is rewritten to a new file and renamed into
 * place atomically.
 *
 * Record: `u32 length · u32 xxHash32(type ‖ body) · u8 type · body`.
 *
 * @module
 */
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { SwitchyardError } from "../../core/errors.ts";
import { xxhash32 } from "../../core/xxhash32.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import { readEntry, readSnapshot, writeEntry, writeSnapshot } from "./codec.ts";
import type { RaftDurableState } from "./raft.ts";
import { applyCompaction, applyUpdate, emptyState, type RaftStorage, type StorageUpdate } from "./storage.ts";
import type { Snapshot } from "./types.ts";

const RecordType = {
  Entries: 1,
  HardState: 2,
  /** A snapshot from the leader: replaces the log. */
  InstalledSnapshot: 3,
  /** A local snapshot: drops the entries it covers. */
  Compaction: 4,
} as const;
type RecordType = typeof RecordType[keyof typeof RecordType];

const HEADER_BYTES = 9;
const WAL_FILE = "raft.wal";
/** Rewrite the file once it is this much bigger than what it holds. */
const REWRITE_SLACK_BYTES = 64 * 1024 * 1024;

type FileHandle = Awaited<ReturnType<typeof open>>;

/** What loading found besides the state. */
export interface WalRecovery {
  /** Records replayed. */
  records: number;
  /** Bytes cut off a torn tail (0 when the file ended cleanly). */
  tornTailBytes: number;
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

  /** Replays the log; cuts off and reports a torn tail; throws `STORAGE_CORRUPT` on damage before the end. */
  async load(): Promise<RaftDurableState | null> {
    await mkdir(this.directory, { recursive: true });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.#path));
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
      bytes = new Uint8Array();
    }
    const { state, validBytes, records } = replay(bytes, this.#path);
    this.#state = state;
    this.recovery = { records, tornTailBytes: bytes.byteLength - validBytes };
    this.#file = await open(this.#path, "a+");
    if (validBytes < bytes.byteLength) {
      await this.#file.truncate(validBytes);
      await this.#file.datasync();
    }
    this.#fileBytes = validBytes;
    if (records === 0) return null;
    return { hardState: { ...state.hardState }, snapshot: state.snapshot, entries: [...state.entries] };
  }

  /** Appends an update and syncs it. */
  save(update: StorageUpdate): Promise<void> {
    return this.#serial(async () => {
      const writer = new ByteWriter();
      if (update.snapshot) record(writer, RecordType.InstalledSnapshot, (w) => writeSnapshot(w, update.snapshot!));
      if (update.entries.length > 0) {
        record(writer, RecordType.Entries, (w) => {
          w.u32(update.entries.length);
          for (const entry of update.entries) writeEntry(w, entry);
        });
      }
      if (update.hardState) {
        const { term, vote, commit } = update.hardState;
        record(writer, RecordType.HardState, (w) => w.f64(term).f64(commit).string(vote ?? ""));
      }
      applyUpdate(this.#state, update);
      await this.#append(writer.finish());
    });
  }

  /** Records a local snapshot (synced); rewrites the file when most of it is obsolete. */
  compact(snapshot: Snapshot): Promise<void> {
    return this.#serial(async () => {
      applyCompaction(this.#state, snapshot);
      const writer = new ByteWriter();
      record(writer, RecordType.Compaction, (w) => writeSnapshot(w, snapshot));
      await this.#append(writer.finish());
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

  async #append(bytes: Uint8Array): Promise<void> {
    const file = this.#file;
    if (!file) {
      throw new SwitchyardError("CONSENSUS_CLOSED", `write-ahead log ${this.#path} is not open (load it first)`);
    }
    let written = 0;
    while (written < bytes.byteLength) {
      const { bytesWritten } = await file.write(bytes, written, bytes.byteLength - written);
      written += bytesWritten;
    }
    await file.datasync();
    this.#fileBytes += bytes.byteLength;
    this.syncs++;
  }

  /** Writes the live state to a new file, syncs it, and renames it over the old one. */
  async #rewrite(): Promise<void> {
    const writer = new ByteWriter();
    const state = this.#state;
    record(writer, RecordType.InstalledSnapshot, (w) => writeSnapshot(w, state.snapshot));
    record(writer, RecordType.Entries, (w) => {
      w.u32(state.entries.length);
      for (const entry of state.entries) writeEntry(w, entry);
    });
    const { term, vote, commit } = state.hardState;
    record(writer, RecordType.HardState, (w) => w.f64(term).f64(commit).string(vote ?? ""));
    const temporary = `${this.#path}.rewrite`;
    await rm(temporary, { force: true });
    const fresh = await open(temporary, "w");
    const bytes = writer.finish();
    await fresh.write(bytes, 0, bytes.byteLength);
    await fresh.datasync();
    await fresh.close();
    await rename(temporary, this.#path);
    const directory = await open(this.directory, "r");
    await directory.sync().catch(() => {}); // not every platform syncs directories
    await directory.close();
    await this.#file?.close();
    this.#file = await open(this.#path, "a+");
    this.#fileBytes = bytes.byteLength;
  }
}

function record(writer: ByteWriter, type: RecordType, body: (writer: ByteWriter) => void): void {
  const start = writer.length;
  writer.u32(0).u32(0).u8(type);
  body(writer);
  const all = writer.finish();
  const length = writer.length - start - HEADER_BYTES;
  writer.patchU32(start, length);
  writer.patchU32(start + 4, xxhash32(all.subarray(start + 8, writer.length)));
}

function liveBytes(state: RaftDurableState): number {
  return state.snapshot.data.byteLength + state.entries.reduce((sum, entry) => sum + entry.data.byteLength + 21, 0);
}

interface Parsed {
  type: number;
  body: Uint8Array;
  end: number;
}

/** Parses the record at `offset`; `undefined` when it is cut short or its checksum fails. */
function parseRecord(bytes: Uint8Array, offset: number): Parsed | undefined {
  if (offset + HEADER_BYTES > bytes.byteLength) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HEADER_BYTES);
  const length = view.getUint32(0);
  const checksum = view.getUint32(4);
  const end = offset + HEADER_BYTES + length;
  if (end > bytes.byteLength) return undefined;
  if (xxhash32(bytes.subarray(offset + 8, end)) !== checksum) return undefined;
  return { type: bytes[offset + 8], body: bytes.subarray(offset + HEADER_BYTES, end), end };
}

function replay(bytes: Uint8Array, path: string): { state: RaftDurableState; validBytes: number; records: number } {
  const state = emptyState();
  let offset = 0;
  let records = 0;
  while (offset < bytes.byteLength) {
    const parsed = parseRecord(bytes, offset);
    if (!parsed) {
      assertTornTail(bytes, offset, path);
      break;
    }
    const reader = new ByteReader(parsed.body);
    switch (parsed.type) {
      case RecordType.Entries: {
        const count = reader.u32();
        applyUpdate(state, { entries: Array.from({ length: count }, () => readEntry(reader)) });
        break;
      }
      case RecordType.HardState: {
        const term = reader.f64();
        const commit = reader.f64();
        const vote = reader.string();
        state.hardState = { term, commit, vote: vote === "" ? null : vote };
        break;
      }
      case RecordType.InstalledSnapshot:
        applyUpdate(state, { snapshot: readSnapshot(reader), entries: [] });
        break;
      case RecordType.Compaction:
        applyCompaction(state, readSnapshot(reader));
        break;
      default:
        throw new SwitchyardError("STORAGE_CORRUPT", `${path}: unknown record type ${parsed.type} at byte ${offset}`);
    }
    offset = parsed.end;
    records++;
  }
  return { state, validBytes: offset, records };
}

/**
 * A bad record is a torn tail when nothing valid follows it. If the record's
 * declared extent fits in the file and a valid record starts right after,
 * the damage is in the middle: refuse to guess.
 */
function assertTornTail(bytes: Uint8Array, offset: number, path: string): void {
  if (offset + HEADER_BYTES > bytes.byteLength) return;
  const length = new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
  const next = offset + HEADER_BYTES + length;
  if (next < bytes.byteLength && parseRecord(bytes, next)) {
    throw new SwitchyardError(
      "STORAGE_CORRUPT",
      `${path}: the record at byte ${offset} is damaged but valid records follow it; refusing to load (restore this node from a peer)`,
    );
  }
}
