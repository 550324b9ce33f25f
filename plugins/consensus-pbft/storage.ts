/**
 * Where a PBFT replica keeps its durable records: {@linkcode FilePbftStorage}
 * (the shared write-ahead log format: one checksummed, synced record per
 * Ready, torn tails cut, corruption refused with `STORAGE_CORRUPT`, an atomic
 * rewrite after each stable checkpoint) and {@linkcode MemoryPbftStorage}
 * (for tests; nothing survives the process).
 *
 * @module
 */
import { join } from "node:path";
import { RecordFile, type RecordFileRecovery } from "../wal-kit/record_file.ts";
import { decodeRecords, encodeRecords } from "./codec.ts";
import type { DurableRecord } from "./types.ts";

/** The durable records of one replica. */
export interface PbftStorage {
  /** Every record written since the last rewrite, in order (none for a new replica). */
  load(): Promise<DurableRecord[]>;
  /** Appends records; durable once it resolves. */
  append(records: readonly DurableRecord[]): Promise<void>;
  /** Replaces everything with `records` (the compacted state); durable once it resolves. */
  rewrite(records: readonly DurableRecord[]): Promise<void>;
  /** Waits for writes under way and releases the storage. */
  close(): Promise<void>;
}

/** Records in memory, for tests (they outlive a replica object, not the process). */
export class MemoryPbftStorage implements PbftStorage {
  /** What is stored. */
  records: DurableRecord[] = [];
  /** Appends and rewrites done. */
  writes = 0;

  /** A copy of what is stored. */
  load(): Promise<DurableRecord[]> {
    return Promise.resolve([...this.records]);
  }

  /** Keeps the records. */
  append(records: readonly DurableRecord[]): Promise<void> {
    this.records.push(...records);
    this.writes++;
    return Promise.resolve();
  }

  /** Replaces the records. */
  rewrite(records: readonly DurableRecord[]): Promise<void> {
    this.records = [...records];
    this.writes++;
    return Promise.resolve();
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const FILE_NAME = "pbft.wal";
const RECORDS = 1;

/**
 * The file log of one replica, `pbft.wal` in `directory`.
 *
 * @example
 * ```ts ignore
 * import { FilePbftStorage } from "./storage.ts";
 * const storage = new FilePbftStorage("/var/lib/switchyard/n1");
 * const records = await storage.load();
 * ```
 */
export class FilePbftStorage implements PbftStorage {
  /** The directory holding the log. */
  readonly directory: string;
  readonly #file: RecordFile;
  #queue: Promise<unknown> = Promise.resolve();

  /** A log in `directory` (created when missing). */
  constructor(directory: string) {
    this.directory = directory;
    this.#file = new RecordFile(join(directory, FILE_NAME), [RECORDS]);
  }

  /** What the last load found (a torn tail cut, and where its bytes were kept). */
  get recovery(): RecordFileRecovery {
    return this.#file.recovery;
  }

  /** Syncs done. */
  get syncs(): number {
    return this.#file.syncs;
  }

  /** Replays the log; throws `STORAGE_CORRUPT` for damage that is not a torn tail. */
  async load(): Promise<DurableRecord[]> {
    const records: DurableRecord[] = [];
    await this.#serial(() => this.#file.load((record) => records.push(...decodeRecords(record.body))));
    return records;
  }

  /** One record holding all of `records`, synced. */
  append(records: readonly DurableRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.#serial(() => this.#file.append(RECORDS, encodeRecords(records)));
  }

  /** A new file holding `records`, renamed into place. */
  rewrite(records: readonly DurableRecord[]): Promise<void> {
    return this.#serial(() => this.#file.rewrite([{ type: RECORDS, body: encodeRecords(records) }]));
  }

  /** Waits for pending writes and closes the file. */
  close(): Promise<void> {
    return this.#serial(() => this.#file.close());
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(work);
    this.#queue = next.catch(() => {});
    return next;
  }
}
