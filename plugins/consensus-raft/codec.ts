/**
 * The wire format of Raft messages: a frame holds a batch of messages, each
 * a type byte then its fields. Decoding rejects unknown types and truncated
 * input with `FRAME_INVALID`.
 *
 * @module
 */
import { SwitchyardError } from "../../core/errors.ts";
import { ByteReader, ByteWriter } from "./bytes.ts";
import type { Entry, EntryKind, Message, Snapshot } from "./types.ts";

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

/** Writes one entry. */
export function writeEntry(writer: ByteWriter, entry: Entry): void {
  writer.f64(entry.index).f64(entry.term).u8(KINDS.indexOf(entry.kind)).bytes(entry.data);
}

/** Reads one entry. */
export function readEntry(reader: ByteReader): Entry {
  const index = reader.f64();
  const term = reader.f64();
  const kind = KINDS[reader.u8()];
  if (!kind) throw new SwitchyardError("FRAME_INVALID", "unknown entry kind");
  return { index, term, kind, data: reader.bytes() };
}

/** Writes a snapshot. */
export function writeSnapshot(writer: ByteWriter, snapshot: Snapshot): void {
  writer.f64(snapshot.index).f64(snapshot.term).u32(snapshot.members.length);
  for (const member of snapshot.members) writer.string(member);
  writer.bytes(snapshot.data);
}

/** Reads a snapshot. */
export function readSnapshot(reader: ByteReader): Snapshot {
  const index = reader.f64();
  const term = reader.f64();
  const count = reader.u32();
  if (count > reader.remaining) throw new SwitchyardError("FRAME_INVALID", "member count past the end");
  const members = Array.from({ length: count }, () => reader.string());
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

/** Decodes a frame made by {@linkcode encodeMessages}. */
export function decodeMessages(frame: Uint8Array): Message[] {
  const reader = new ByteReader(frame);
  const version = reader.u8();
  if (version !== FORMAT_VERSION) {
    throw new SwitchyardError("FRAME_INVALID", `raft message format ${version} is not ${FORMAT_VERSION}`);
  }
  const count = reader.u32();
  if (count > reader.remaining) throw new SwitchyardError("FRAME_INVALID", "message count past the end");
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const type = TYPES[reader.u8()];
    if (!type) throw new SwitchyardError("FRAME_INVALID", "unknown raft message type");
    const from = reader.string();
    const to = reader.string();
    const term = reader.f64();
    const base = { from, to, term };
    switch (type) {
      case "preVote":
      case "vote":
        messages.push({ ...base, type, lastIndex: reader.f64(), lastTerm: reader.f64(), force: reader.u8() === 1 });
        break;
      case "preVoteResp":
      case "voteResp":
        messages.push({ ...base, type, granted: reader.u8() === 1 });
        break;
      case "append": {
        const prevIndex = reader.f64();
        const prevTerm = reader.f64();
        const commit = reader.f64();
        const entryCount = reader.u32();
        if (entryCount > reader.remaining) throw new SwitchyardError("FRAME_INVALID", "entry count past the end");
        const entries = Array.from({ length: entryCount }, () => readEntry(reader));
        messages.push({ ...base, type, prevIndex, prevTerm, commit, entries });
        break;
      }
      case "appendResp":
        messages.push({ ...base, type, index: reader.f64(), reject: reader.u8() === 1, rejectHint: reader.f64() });
        break;
      case "heartbeat":
        messages.push({ ...base, type, commit: reader.f64(), readSeq: reader.f64() });
        break;
      case "heartbeatResp":
        messages.push({ ...base, type, readSeq: reader.f64() });
        break;
      case "snapshot":
        messages.push({ ...base, type, snapshot: readSnapshot(reader) });
        break;
      case "timeoutNow":
        messages.push({ ...base, type });
        break;
    }
  }
  if (reader.remaining !== 0) throw new SwitchyardError("FRAME_INVALID", `${reader.remaining} trailing bytes`);
  return messages;
}
