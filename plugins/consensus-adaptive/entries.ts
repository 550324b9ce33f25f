/**
 * The entries of the adaptive engine's log (issue 15; the plan is
 * `docs/design/adaptive-consensus.md`). Whichever engine is in charge
 * replicates these bytes; the epoch machine applies them:
 *
 * - an **application command** (tag 1): the client command bytes of
 *   `encodeClientCommand` (the command and its client identity), applied
 *   through the deduplication table the adaptive engine owns, so a command
 *   re-proposed in the next epoch executes once;
 * - a member's **report** (tag 2): when it measured and its medians;
 * - a member's **force** (tag 3): an operator's hold of a mode, or its
 *   release.
 *
 * The first byte is the tag, never `0xFF`, so an engine's own deduplication
 * layer reads every entry as a command without identity and hands it over
 * unchanged. Layout after the tag (big endian): a report is the member (u8
 * length, UTF-8), `atMs` (f64), then three f64 measures (`rttMs`,
 * `bandwidthMbps`, `lossRatio`, NaN for one not measured); a force is the
 * member, `atMs`, the mode (u8: 0 release, 1 datacenter, 2 internet, 3
 * hybrid) and the reason (u16 length, UTF-8, at most 1,024 bytes). Decoding
 * checks every field and throws `FRAME_INVALID` naming it.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import { type Mode, MODES } from "../../core/contracts/mode.ts";
import { MEASURES, type NetworkSample, sampleIssues } from "../../core/contracts/sample.ts";
import type { ModeForceEntry, ModeReportEntry } from "../../core/control/mode_tally.ts";

/** An application command, as `encodeClientCommand` wrote it. */
export interface CommandEntry {
  /** An application command. */
  kind: "command";
  /** The client command bytes (command and client identity). */
  bytes: Uint8Array;
}

/** What the adaptive log holds. */
export type AdaptiveEntry = CommandEntry | ModeReportEntry | ModeForceEntry;

/** Tags of the entry kinds. */
export const ENTRY_TAGS: Readonly<Record<AdaptiveEntry["kind"], number>> = { command: 1, report: 2, force: 3 };

/** Longest member id, in UTF-8 bytes. */
export const MAX_MEMBER_BYTES = 255;
/** Longest reason of a force, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const MODE_CODES: readonly (Mode | null)[] = [null, ...MODES];

function invalid(field: string, message: string): SwitchyardError {
  return new SwitchyardError("FRAME_INVALID", `adaptive entry: ${field} ${message}`);
}

function text(value: string, field: string, maxBytes: number, minBytes: number): Uint8Array {
  const bytes = encoder.encode(value);
  if (bytes.byteLength < minBytes || bytes.byteLength > maxBytes) {
    throw invalid(field, `must be ${minBytes} to ${maxBytes} bytes of UTF-8, got ${bytes.byteLength}`);
  }
  return bytes;
}

/** The bytes of `entry`. Throws `FRAME_INVALID` for a field out of range (the same checks decoding makes). */
export function encodeEntry(entry: AdaptiveEntry): Uint8Array {
  if (entry.kind === "command") {
    const bytes = new Uint8Array(1 + entry.bytes.byteLength);
    bytes[0] = ENTRY_TAGS.command;
    bytes.set(entry.bytes, 1);
    return bytes;
  }
  const member = text(entry.member, "member", MAX_MEMBER_BYTES, 1);
  if (!Number.isFinite(entry.atMs)) throw invalid("atMs", `must be a finite number, got ${entry.atMs}`);
  if (entry.kind === "report") {
    const issues = sampleIssues(entry.summary);
    if (issues.length > 0) throw invalid(`summary.${issues[0].path}`, issues[0].message);
    const { bytes, view, offset } = memberEntry(ENTRY_TAGS.report, member, entry.atMs, 8 * MEASURES.length);
    MEASURES.forEach((measure, i) => view.setFloat64(offset + 8 * i, entry.summary[measure] ?? Number.NaN));
    return bytes;
  }
  const mode = MODE_CODES.indexOf(entry.mode);
  if (mode < 0) throw invalid("mode", `must be a mode or null, got ${JSON.stringify(entry.mode)}`);
  const reason = text(entry.reason, "reason", MAX_REASON_BYTES, 0);
  const { bytes, view, offset } = memberEntry(ENTRY_TAGS.force, member, entry.atMs, 1 + 2 + reason.byteLength);
  bytes[offset] = mode;
  view.setUint16(offset + 1, reason.byteLength);
  bytes.set(reason, offset + 3);
  return bytes;
}

/** An entry of a member: its tag, the member (u8 length, UTF-8) and `atMs`, then `restBytes` for the caller to fill from `offset`. */
function memberEntry(
  tag: number,
  member: Uint8Array,
  atMs: number,
  restBytes: number,
): { bytes: Uint8Array; view: DataView; offset: number } {
  const bytes = new Uint8Array(2 + member.byteLength + 8 + restBytes);
  const view = new DataView(bytes.buffer);
  bytes[0] = tag;
  bytes[1] = member.byteLength;
  bytes.set(member, 2);
  view.setFloat64(2 + member.byteLength, atMs);
  return { bytes, view, offset: 2 + member.byteLength + 8 };
}

/** Reads fields in order, failing with the field's name when the bytes run out or a value is out of range. */
class FieldReader {
  #offset = 1;
  readonly #view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #need(count: number, field: string): number {
    if (this.#offset + count > this.bytes.byteLength) throw invalid(field, "is cut short");
    const at = this.#offset;
    this.#offset += count;
    return at;
  }

  u8(field: string): number {
    return this.bytes[this.#need(1, field)];
  }

  u16(field: string): number {
    return this.#view.getUint16(this.#need(2, field));
  }

  f64(field: string): number {
    return this.#view.getFloat64(this.#need(8, field));
  }

  text(field: string, length: number): string {
    const at = this.#need(length, field);
    try {
      return decoder.decode(this.bytes.subarray(at, at + length));
    } catch {
      throw invalid(field, "is not UTF-8");
    }
  }

  end(): void {
    if (this.#offset !== this.bytes.byteLength) {
      throw invalid("entry", `has ${this.bytes.byteLength - this.#offset} bytes after its last field`);
    }
  }
}

function readMember(reader: FieldReader): string {
  const length = reader.u8("member length");
  if (length === 0) throw invalid("member", "is empty");
  return reader.text("member", length);
}

function readTime(reader: FieldReader): number {
  const atMs = reader.f64("atMs");
  if (!Number.isFinite(atMs)) throw invalid("atMs", `must be a finite number, got ${atMs}`);
  return atMs;
}

/** Decodes what {@linkcode encodeEntry} made. Throws `FRAME_INVALID` naming the first bad field. */
export function decodeEntry(bytes: Uint8Array): AdaptiveEntry {
  if (bytes.byteLength === 0) throw invalid("tag", "is missing");
  const tag = bytes[0];
  if (tag === ENTRY_TAGS.command) return { kind: "command", bytes: bytes.subarray(1) };
  const reader = new FieldReader(bytes);
  if (tag === ENTRY_TAGS.report) {
    const member = readMember(reader);
    const atMs = readTime(reader);
    const summary: NetworkSample = {};
    for (const measure of MEASURES) {
      const value = reader.f64(measure);
      if (!Number.isNaN(value)) summary[measure] = value;
    }
    reader.end();
    const issues = sampleIssues(summary);
    if (issues.length > 0) throw invalid(`summary.${issues[0].path}`, issues[0].message);
    return { kind: "report", member, atMs, summary };
  }
  if (tag === ENTRY_TAGS.force) {
    const member = readMember(reader);
    const atMs = readTime(reader);
    const code = reader.u8("mode");
    if (code >= MODE_CODES.length) throw invalid("mode", `code ${code} is not a mode`);
    const length = reader.u16("reason length");
    if (length > MAX_REASON_BYTES) throw invalid("reason", `is ${length} bytes, over ${MAX_REASON_BYTES}`);
    const reason = reader.text("reason", length);
    reader.end();
    return { kind: "force", member, atMs, mode: MODE_CODES[code], reason };
  }
  throw invalid("tag", `${tag} is not an entry kind`);
}
