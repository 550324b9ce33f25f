/**
 * A file of checksummed records, the durable half of every write-ahead log
 * (format and recovery rules in `format.ts`): each append is one record,
 * synced (`fdatasync`) before it resolves; on load the records are handed
 * to a replay function in order;
 *
 * - a torn tail, damage that can only be the final write, never synced and
 *   so never acknowledged, is cut off and reported (`recovery`); the bytes
 *   cut are first kept in `<file>.torn-<offset>` beside the log;
 * - any other damage refuses to load with `STORAGE_CORRUPT` naming the byte
 *   offset and what was wrong, and leaves the file as it is.
 *
 * `rewrite` replaces every record at once: a new file is written and synced,
 * then renamed over the old one, so a crash leaves one or the other.
 *
 * @module
 */
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { SwitchyardError } from "../../core/util/errors.ts";
import {
  checkFileHeader,
  encodeRecord,
  FILE_HEADER_BYTES,
  fileHeader,
  scanRecords,
  type TornTail,
  type WalRecord,
} from "./format.ts";

type FileHandle = Awaited<ReturnType<typeof open>>;

/** What loading found. */
export interface RecordFileRecovery {
  /** Records replayed. */
  records: number;
  /** Bytes cut off a torn tail (0 when the file ended cleanly). */
  tornTailBytes: number;
  /** Where the torn tail started, what was wrong there, and the file its bytes were kept in. */
  tornTail?: TornTail & { copy: string };
}

/** One record to write: its type (a byte the owner defines) and its body. */
export interface RecordToWrite {
  /** The owner's record type, 0 to 255. */
  type: number;
  /** The bytes. */
  body: Uint8Array;
}

/**
 * The record file at `path`.
 *
 * @example
 * ```ts ignore
 * import { RecordFile } from "./record_file.ts";
 * const file = new RecordFile("/var/lib/switchyard/n1/pbft.wal", [1]);
 * await file.load((record) => replay(record.type, record.body));
 * await file.append(1, bytes); // durable once this resolves
 * ```
 */
export class RecordFile {
  /** The file. */
  readonly path: string;
  /** What the last `load` found. */
  recovery: RecordFileRecovery = { records: 0, tornTailBytes: 0 };
  /** Syncs done (one per append or rewrite). */
  syncs = 0;
  #file: FileHandle | undefined;
  #fileBytes = 0;

  readonly #knownTypes: ReadonlySet<number>;

  /** A record file at `path` (its directory is created when missing) holding records of `knownTypes`. */
  constructor(path: string, knownTypes: readonly number[]) {
    this.path = path;
    this.#knownTypes = new Set(knownTypes);
  }

  /** Current size of the file in bytes. */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  /**
   * Replays every good record through `replay` (which throws when a record's
   * body does not decode: that is corruption too), cuts off and reports a
   * torn tail, and opens the file for appending. Throws a `WalCorruptError`
   * (`STORAGE_CORRUPT`) for any other damage, without changing the file.
   * Returns the number of records replayed.
   */
  async load(replay: (record: WalRecord) => void): Promise<number> {
    await mkdir(dirname(this.path), { recursive: true });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.path));
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
      bytes = new Uint8Array();
    }
    if (checkFileHeader(bytes, this.path) === "partial") {
      // A crash while creating the file: nothing was ever stored in it.
      await this.#create();
      this.recovery = { records: 0, tornTailBytes: 0 };
      return 0;
    }
    const { records, validBytes, torn } = scanRecords(bytes, this.path, replay, this.#knownTypes);
    this.recovery = { records, tornTailBytes: bytes.byteLength - validBytes };
    const file = await open(this.path, "r+");
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
    return records;
  }

  /**
   * Writes a record at the end of what the file holds (by position, so a
   * write that failed half-way is overwritten by the next) and syncs it.
   */
  async append(type: number, body: Uint8Array): Promise<void> {
    const file = this.#file;
    if (!file) {
      throw new SwitchyardError("CONSENSUS_CLOSED", `write-ahead log ${this.path} is not open (load it first)`);
    }
    const bytes = encodeRecord(type, body, this.#fileBytes);
    await writeAll(file, bytes, this.#fileBytes);
    await file.datasync();
    this.#fileBytes += bytes.byteLength;
    this.syncs++;
  }

  /** Replaces every record with `records`: a new file, synced, renamed into place. */
  async rewrite(records: readonly RecordToWrite[]): Promise<void> {
    const header = fileHeader();
    const encoded: Uint8Array[] = [];
    let offset = FILE_HEADER_BYTES;
    for (const { type, body } of records) {
      const record = encodeRecord(type, body, offset);
      encoded.push(record);
      offset += record.byteLength;
    }
    const temporary = `${this.path}.rewrite`;
    await rm(temporary, { force: true });
    const fresh = await open(temporary, "w");
    try {
      await writeAll(fresh, header, 0);
      let position = header.byteLength;
      for (const record of encoded) {
        await writeAll(fresh, record, position);
        position += record.byteLength;
      }
      await fresh.datasync();
    } finally {
      await fresh.close();
    }
    await rename(temporary, this.path);
    await this.#syncDirectory();
    await this.#file?.close();
    this.#file = await open(this.path, "r+");
    this.#fileBytes = offset;
    this.syncs++;
  }

  /** Closes the file (appends fail until the next `load`). */
  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = undefined;
  }

  /** Creates the file with its header, synced, and opens it. */
  async #create(): Promise<void> {
    await this.#file?.close();
    const file = await open(this.path, "w+");
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
      const path = `${this.path}.torn-${offset}${attempt === 0 ? "" : `.${attempt}`}`;
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
    const directory = await open(dirname(this.path), "r");
    await directory.sync().catch(() => {}); // not every platform syncs directories
    await directory.close();
  }
}

async function writeAll(file: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    const { bytesWritten } = await file.write(bytes, written, bytes.byteLength - written, position + written);
    written += bytesWritten;
  }
}
