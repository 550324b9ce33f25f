/**
 * The wire format of Raft messages: a frame holds a batch of messages, each
 * a type byte then its fields. Decoding checks every field before the state
 * machine sees it and rejects the frame with `FRAME_INVALID` naming the field
 * (`messages[2].entries[0].term: ...`): indices, terms and counters must be
 * non-negative safe integers, node ids 1 to 255 bytes of UTF-8, flags 0 or 1,
 * types and entry kinds known, counts within the bytes left, an append's
 * entries numbered on from `prevIndex` with terms that never decrease nor
 * pass the message's, a membership entry a valid voter set, a no-op empty.
 *
 * @module
 */
import * as v from "valibot";
import { SwitchyardError } from "../../core/util/errors.ts";
import { MAX_NODE_ID_BYTES } from "../peer-auth/keys.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import type { Entry, EntryKind, MembershipData, Message, Snapshot } from "./types.ts";

const TYPES = [
  "preVote",
  "vote",
  "preVoteResp",
  "voteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "timeoutNow",
] as const satisfies readonly Message["type"][];
const KINDS: readonly EntryKind[] = ["command", "membership", "noop"];
const FORMAT_VERSION = 1;

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });
/** Smallest encodings, to bound counts by the bytes left: a message, an entry, a member id. */
const MIN_MESSAGE_BYTES = 1 + 5 + 5 + 8;
const MIN_ENTRY_BYTES = 8 + 8 + 1 + 4;
const MIN_ID_BYTES = 5;

function invalid(field: string, why: string): SwitchyardError {
  return new SwitchyardError("FRAME_INVALID", `${field}: ${why}`);
}

/** A non-negative safe integer (an index, a term, a counter). */
function integer(reader: ByteReader, field: string): number {
  const value = reader.f64();
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(field, `${value} is not a non-negative safe integer`);
  return value;
}

/** A boolean byte. */
function flag(reader: ByteReader, field: string): boolean {
  const value = reader.u8();
  if (value > 1) throw invalid(field, `${value} is not 0 or 1`);
  return value === 1;
}

/** A node id: 1 to 255 bytes of UTF-8. */
function nodeId(reader: ByteReader, field: string): string {
  const length = reader.u32();
  if (length === 0 || length > MAX_NODE_ID_BYTES) throw invalid(field, `node id of ${length} bytes (1 to 255)`);
  const bytes = reader.view(length);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw invalid(field, "node id is not UTF-8");
  }
}

/** A count of items of at least `minBytes` each, bounded by the bytes left. */
function count(reader: ByteReader, field: string, minBytes: number): number {
  const value = reader.u32();
  if (value * minBytes > reader.remaining) {
    throw invalid(field, `${value} items cannot fit in ${reader.remaining} bytes`);
  }
  return value;
}

const idSchema = v.pipe(
  v.string(),
  v.minLength(1),
  v.check((id) => encoder.encode(id).byteLength <= MAX_NODE_ID_BYTES, "longer than 255 bytes"),
);
const membershipSchema = v.strictObject({
  members: v.pipe(
    v.array(idSchema),
    v.minLength(1),
    v.check((ids) => new Set(ids).size === ids.length, "lists a member twice"),
  ),
  addresses: v.optional(v.record(idSchema, v.pipe(v.string(), v.minLength(1), v.maxLength(1024)))),
});

/** Decodes and checks the body of a `membership` entry; `FRAME_INVALID` naming `field` when it is not a voter set. */
export function decodeMembership(data: Uint8Array, field = "membership"): MembershipData {
  let json: unknown;
  try {
    json = JSON.parse(strictDecoder.decode(data));
  } catch {
    throw invalid(field, "not UTF-8 JSON");
  }
  const result = v.safeParse(membershipSchema, json);
  if (!result.success) {
    const issue = result.issues[0];
    const path = v.getDotPath(issue);
    throw invalid(path ? `${field}.${path}` : field, issue.message);
  }
  return result.output;
}

/** Writes one entry. */
export function writeEntry(writer: ByteWriter, entry: Entry): void {
  writer.f64(entry.index).f64(entry.term).u8(KINDS.indexOf(entry.kind)).bytes(entry.data);
}

/** Reads one entry, checking its fields and that its data suits its kind. */
export function readEntry(reader: ByteReader, field = "entry"): Entry {
  const index = integer(reader, `${field}.index`);
  const term = integer(reader, `${field}.term`);
  const kindByte = reader.u8();
  const kind = KINDS[kindByte];
  if (!kind) throw invalid(`${field}.kind`, `unknown entry kind ${kindByte}`);
  const data = reader.bytes();
  if (kind === "membership") decodeMembership(data, `${field}.data`);
  if (kind === "noop" && data.byteLength > 0) throw invalid(`${field}.data`, "a no-op carries no data");
  return { index, term, kind, data };
}

/** Writes a snapshot. */
export function writeSnapshot(writer: ByteWriter, snapshot: Snapshot): void {
  writer.f64(snapshot.index).f64(snapshot.term).u32(snapshot.members.length);
  for (const member of snapshot.members) writer.string(member);
  writer.bytes(snapshot.data);
}

/** Reads a snapshot, checking its fields (its voter set may be empty: a joining node's initial state). */
export function readSnapshot(reader: ByteReader, field = "snapshot"): Snapshot {
  const index = integer(reader, `${field}.index`);
  const term = integer(reader, `${field}.term`);
  const memberCount = count(reader, `${field}.members`, MIN_ID_BYTES);
  const members = Array.from({ length: memberCount }, (_, i) => nodeId(reader, `${field}.members[${i}]`));
  if (new Set(members).size !== members.length) throw invalid(`${field}.members`, "lists a member twice");
  return { index, term, members, data: reader.bytes() };
}

/**
 * Encodes messages (all to one peer) into one frame.
 *
 * @example
 * ```ts
 * import { decodeMessages, encodeMessages } from "./codec.ts";
 * const frame = encodeMessages([{ type: "timeoutNow", from: "a", to: "b", term: 3 }]);
 * decodeMessages(frame)[0].term; // 3
 * ```
 */
export function encodeMessages(messages: readonly Message[]): Uint8Array {
  const writer = new ByteWriter();
  writer.u8(FORMAT_VERSION).u32(messages.length);
  for (const message of messages) {
    writer.u8(TYPES.indexOf(message.type)).string(message.from).string(message.to).f64(message.term);
    switch (message.type) {
      case "preVote":
      case "vote":
        writer.f64(message.lastIndex).f64(message.lastTerm).u8(message.force ? 1 : 0);
        break;
      case "preVoteResp":
      case "voteResp":
        writer.u8(message.granted ? 1 : 0);
        break;
      case "append":
        writer.f64(message.prevIndex).f64(message.prevTerm).f64(message.commit).u32(message.entries.length);
        for (const entry of message.entries) writeEntry(writer, entry);
        break;
      case "appendResp":
        writer.f64(message.index).u8(message.reject ? 1 : 0).f64(message.rejectHint);
        break;
      case "heartbeat":
        writer.f64(message.commit).f64(message.readSeq);
        break;
      case "heartbeatResp":
        writer.f64(message.readSeq);
        break;
      case "snapshot":
        writeSnapshot(writer, message.snapshot);
        break;
      case "timeoutNow":
        break;
    }
  }
  return writer.finish().slice();
}

/** Decodes a frame made by {@linkcode encodeMessages}, checking every field (see the module notes). */
export function decodeMessages(frame: Uint8Array): Message[] {
  const reader = new ByteReader(frame);
  const version = reader.u8();
  if (version !== FORMAT_VERSION) {
    throw new SwitchyardError("FRAME_INVALID", `raft message format ${version} is not ${FORMAT_VERSION}`);
  }
  const messageCount = count(reader, "messages", MIN_MESSAGE_BYTES);
  const messages: Message[] = [];
  for (let i = 0; i < messageCount; i++) {
    const field = `messages[${i}]`;
    try {
      messages.push(readMessage(reader, field));
    } catch (error) {
      if (error instanceof SwitchyardError && !error.message.startsWith(field)) {
        throw new SwitchyardError("FRAME_INVALID", `${field}: ${error.message}`);
      }
      throw error;
    }
  }
  if (reader.remaining !== 0) throw new SwitchyardError("FRAME_INVALID", `${reader.remaining} trailing bytes`);
  return messages;
}

function readMessage(reader: ByteReader, field: string): Message {
  const typeByte = reader.u8();
  const type = TYPES[typeByte];
  if (!type) throw invalid(`${field}.type`, `unknown raft message type ${typeByte}`);
  const from = nodeId(reader, `${field}.from`);
  const to = nodeId(reader, `${field}.to`);
  const term = integer(reader, `${field}.term`);
  const base = { from, to, term };
  switch (type) {
    case "preVote":
    case "vote": {
      const lastIndex = integer(reader, `${field}.lastIndex`);
      const lastTerm = integer(reader, `${field}.lastTerm`);
      if (lastTerm > term) throw invalid(`${field}.lastTerm`, `${lastTerm} is past the message's term ${term}`);
      return { ...base, type, lastIndex, lastTerm, force: flag(reader, `${field}.force`) };
    }
    case "preVoteResp":
    case "voteResp":
      return { ...base, type, granted: flag(reader, `${field}.granted`) };
    case "append": {
      const prevIndex = integer(reader, `${field}.prevIndex`);
      const prevTerm = integer(reader, `${field}.prevTerm`);
      const commit = integer(reader, `${field}.commit`);
      if (prevTerm > term) throw invalid(`${field}.prevTerm`, `${prevTerm} is past the message's term ${term}`);
      const entryCount = count(reader, `${field}.entries`, MIN_ENTRY_BYTES);
      const entries: Entry[] = [];
      let previousTerm = prevTerm;
      for (let i = 0; i < entryCount; i++) {
        const at = `${field}.entries[${i}]`;
        const entry = readEntry(reader, at);
        if (entry.index !== prevIndex + 1 + i) {
          throw invalid(`${at}.index`, `${entry.index} does not follow ${prevIndex + i}`);
        }
        if (entry.term < previousTerm || entry.term > term) {
          throw invalid(`${at}.term`, `${entry.term} is not in [${previousTerm}, ${term}]`);
        }
        previousTerm = entry.term;
        entries.push(entry);
      }
      return { ...base, type, prevIndex, prevTerm, commit, entries };
    }
    case "appendResp": {
      const index = integer(reader, `${field}.index`);
      const reject = flag(reader, `${field}.reject`);
      return { ...base, type, index, reject, rejectHint: integer(reader, `${field}.rejectHint`) };
    }
    case "heartbeat": {
      const commit = integer(reader, `${field}.commit`);
      return { ...base, type, commit, readSeq: integer(reader, `${field}.readSeq`) };
    }
    case "heartbeatResp":
      return { ...base, type, readSeq: integer(reader, `${field}.readSeq`) };
    case "snapshot": {
      const snapshot = readSnapshot(reader, `${field}.snapshot`);
      if (snapshot.members.length === 0) throw invalid(`${field}.snapshot.members`, "a snapshot sent needs voters");
      if (snapshot.term > term) throw invalid(`${field}.snapshot.term`, `${snapshot.term} is past ${term}`);
      return { ...base, type, snapshot };
    }
    case "timeoutNow":
      return { ...base, type };
  }
}
