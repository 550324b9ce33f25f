/**
 * The on-disk format of Switchyard's write-ahead logs (format 2; the Raft log
 * and the PBFT log share it) and the scan that tells a torn tail from
 * corruption.
 *
 * File: a 16-byte header (`SWYD-WAL` · u32 format · u32 xxHash32 of the
 * first 12 bytes), then records. Record (big-endian):
 *
 * ```
 * u32 bodyBytes · u64 offset · u8 type · 3 zero bytes · u32 xxHash32(body) · u32 xxHash32(header bytes 0–19) · body
 * ```
 *
 * The header has its own checksum, so a damaged length is never trusted to
 * find the next record, and each record names the byte offset it was written
 * at, so a zeroed, shifted or copied region cannot pass for a record. One
 * append writes one record and syncs it before the next write starts, so any
 * record followed by another was synced. The scan therefore calls damage a
 * torn tail only when nothing valid follows it and it can be the final,
 * unsynced write: the file ends inside the record, or the record's body is
 * bad and it ends exactly at the end of the file, or its header is bad and no
 * later byte offset holds a valid header. Anything else is corruption.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import type { WalErrorCode } from "./errors.ts";
import { xxhash32 } from "../../core/util/xxhash32.ts";

/** The format this version writes and reads. */
export const WAL_FORMAT = 2;
/** Bytes of the file header. */
export const FILE_HEADER_BYTES = 16;
/** Bytes of a record header. */
export const RECORD_HEADER_BYTES = 24;

const MAGIC = new TextEncoder().encode("SWYD-WAL");

/** What was wrong with a damaged record. */
export type WalDamage =
  | "truncated" // the file ends inside the record
  | "zeros" // the record header is all zero bytes
  | "header" // the header checksum fails: a length, offset, type or checksum field is damaged
  | "misplaced" // a valid header that names another offset: a shifted or copied region
  | "type" // a valid header of an unknown type (a newer format?) or with reserved bits set
  | "body" // the body checksum fails
  | "decode"; // the body has a valid checksum but does not decode

/** `STORAGE_CORRUPT`, with where and what: the file was left as it was. */
export class WalCorruptError extends SwitchyardError<WalErrorCode> {
  /** The log file. */
  readonly path: string;
  /** Byte offset of the damaged record (or of the file header). */
  readonly offset: number;
  /** What was wrong. */
  readonly damage: WalDamage | "file-header";

  /** An error naming the file, the byte offset and what was wrong there. */
  constructor(path: string, offset: number, damage: WalDamage | "file-header", message: string) {
    super("STORAGE_CORRUPT", `${path}: ${message}; refusing to load, the file is left as it is`);
    this.name = "WalCorruptError";
    this.path = path;
    this.offset = offset;
    this.damage = damage;
  }
}

/** The file header of this format. */
export function fileHeader(): Uint8Array {
  const bytes = new Uint8Array(FILE_HEADER_BYTES);
  bytes.set(MAGIC);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, WAL_FORMAT);
  view.setUint32(12, xxhash32(bytes.subarray(0, 12)));
  return bytes;
}

/**
 * Checks the file header. Returns `"partial"` for a file that ends inside a
 * correct header (a crash while creating it: nothing was ever stored).
 * Throws {@linkcode WalCorruptError} for anything else that is not this
 * format, saying so when the file looks like format 1 (no header).
 */
export function checkFileHeader(bytes: Uint8Array, path: string): "ok" | "partial" {
  const expected = fileHeader();
  if (bytes.byteLength < FILE_HEADER_BYTES && expected.subarray(0, bytes.byteLength).every((b, i) => b === bytes[i])) {
    return "partial";
  }
  if (bytes.byteLength >= FILE_HEADER_BYTES && expected.every((b, i) => b === bytes[i])) return "ok";
  if (bytes.byteLength >= MAGIC.byteLength && MAGIC.every((b, i) => b === bytes[i])) {
    const format = bytes.byteLength >= 12 ? new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0) : -1;
    return fail(
      path,
      0,
      format === WAL_FORMAT || format === -1
        ? "the file header is damaged"
        : `the log is format ${format}, this version reads format ${WAL_FORMAT}`,
    );
  }
  return fail(
    path,
    0,
    looksLikeFormat1(bytes)
      ? `the log was written in format 1 (before records named their offsets); this version reads format ${WAL_FORMAT} only: move the directory away and let the node rejoin from its peers`
      : "not a Switchyard write-ahead log (no SWYD-WAL header)",
  );
}

function fail(path: string, offset: number, message: string): never {
  throw new WalCorruptError(path, offset, "file-header", message);
}

/** Format 1 had no header: the file began with `u32 length · u32 xxHash32(type ‖ body) · u8 type`. */
function looksLikeFormat1(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 9) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = 9 + view.getUint32(0);
  return end <= bytes.byteLength && xxhash32(bytes.subarray(8, end)) === view.getUint32(4);
}

/** Appends a record of `type` with `body`, to be written at byte `offset` of the file, to `out`. */
export function encodeRecord(type: number, body: Uint8Array, offset: number): Uint8Array {
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + body.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, body.byteLength);
  view.setBigUint64(4, BigInt(offset));
  bytes[12] = type;
  view.setUint32(16, xxhash32(body));
  view.setUint32(20, xxhash32(bytes.subarray(0, 20)));
  bytes.set(body, RECORD_HEADER_BYTES);
  return bytes;
}

/** A record that passed its checks. */
export interface WalRecord {
  /** Where it starts. */
  offset: number;
  /** Its type. */
  type: number;
  /** Its body (a view of the file's bytes). */
  body: Uint8Array;
  /** The first byte after it. */
  end: number;
}

/** What a scan found past the last good record. */
export interface TornTail {
  /** Where the torn record starts (the file is cut here). */
  offset: number;
  /** What was wrong with it. */
  damage: WalDamage;
  /** A sentence for logs. */
  reason: string;
}

type Inspection = { record: WalRecord } | { damage: WalDamage; reason: string; end?: number };

/** Whether a valid record header (its checksum right, naming its own offset) starts at `at`. */
function validHeaderAt(bytes: Uint8Array, view: DataView, at: number): boolean {
  if (at + RECORD_HEADER_BYTES > bytes.byteLength) return false;
  // The cheap test first: almost no byte offset holds its own offset.
  if (view.getUint32(at + 4) !== Math.floor(at / 2 ** 32) || view.getUint32(at + 8) !== at >>> 0) return false;
  return view.getUint32(at + 20) === xxhash32(bytes.subarray(at, at + 20));
}

function inspect(bytes: Uint8Array, view: DataView, offset: number, knownTypes: ReadonlySet<number>): Inspection {
  const left = bytes.byteLength - offset;
  if (left < RECORD_HEADER_BYTES) {
    return {
      damage: "truncated",
      reason: `the file ends ${left} bytes into the record's ${RECORD_HEADER_BYTES}-byte header`,
    };
  }
  const header = bytes.subarray(offset, offset + RECORD_HEADER_BYTES);
  if (header.every((b) => b === 0)) return { damage: "zeros", reason: "the record header is all zero bytes" };
  if (view.getUint32(offset + 20) !== xxhash32(bytes.subarray(offset, offset + 20))) {
    return {
      damage: "header",
      reason: "the record header's checksum does not match (its length, offset, type or checksum field is damaged)",
    };
  }
  const declared = Number(view.getBigUint64(offset + 4));
  if (declared !== offset) {
    return {
      damage: "misplaced",
      reason: `a valid record header written for byte ${declared} (a shifted or copied region)`,
    };
  }
  const type = bytes[offset + 12];
  if (
    !knownTypes.has(type) ||
    bytes[offset + 13] | bytes[offset + 14] | bytes[offset + 15]
  ) {
    return { damage: "type", reason: `a valid record header of unknown type ${type} (written by a newer version?)` };
  }
  const end = offset + RECORD_HEADER_BYTES + view.getUint32(offset);
  if (end > bytes.byteLength) {
    return {
      damage: "truncated",
      reason: `the file ends ${bytes.byteLength - offset} bytes into the ${end - offset}-byte record`,
      end,
    };
  }
  const body = bytes.subarray(offset + RECORD_HEADER_BYTES, end);
  if (view.getUint32(offset + 16) !== xxhash32(body)) {
    return { damage: "body", reason: "the record body's checksum does not match", end };
  }
  return { record: { offset, type, body, end } };
}

/**
 * Walks the records after the file header, handing each good one to
 * `apply` (which may throw to report a body that does not decode); a record
 * of a type not in `knownTypes` counts as damage ("type"). Returns
 * the torn tail, if any; throws {@linkcode WalCorruptError} for damage that
 * cannot be the final, unsynced write.
 */
export function scanRecords(
  bytes: Uint8Array,
  path: string,
  apply: (record: WalRecord) => void,
  knownTypes: ReadonlySet<number>,
): { records: number; validBytes: number; torn?: TornTail } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = FILE_HEADER_BYTES;
  let records = 0;
  while (offset < bytes.byteLength) {
    const found = inspect(bytes, view, offset, knownTypes);
    if ("record" in found) {
      try {
        apply(found.record);
      } catch (error) {
        throw new WalCorruptError(
          path,
          offset,
          "decode",
          `the record at byte ${offset} has valid checksums but does not decode (${(error as Error).message})`,
        );
      }
      offset = found.record.end;
      records++;
      continue;
    }
    const { damage, reason, end } = found;
    const corrupt = (why: string): never => {
      throw new WalCorruptError(path, offset, damage, `damaged record at byte ${offset}: ${reason}; ${why}`);
    };
    if (damage === "type") corrupt("its checksums are right, so this is no torn write");
    // A record whose extent is known and ends before the file does was followed by another write,
    // which only starts once this one was synced.
    if (end !== undefined && end < bytes.byteLength) {
      corrupt(`${bytes.byteLength - end} bytes follow it, so it was synced`);
    }
    for (let at = offset + 1; at + RECORD_HEADER_BYTES <= bytes.byteLength; at++) {
      if (validHeaderAt(bytes, view, at)) corrupt(`a valid record follows at byte ${at}, so it was synced`);
    }
    return { records, validBytes: offset, torn: { offset, damage, reason } };
  }
  return { records, validBytes: offset };
}
