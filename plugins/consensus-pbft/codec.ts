/**
 * The binary forms of PBFT values: the bytes each signature covers (each kind
 * with its own tag, so a signature for one kind never passes for another),
 * batch digests, the wire frames replicas exchange and the durable records.
 *
 * Decoding checks every field before anything else sees it: numbers are
 * safe non-negative integers, digests 32 bytes, signatures 64, identities
 * non-empty and short, booleans 0 or 1, counts within the bytes left, no
 * trailing bytes. A violation throws `FRAME_INVALID` naming the field.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import { ByteReader, ByteWriter } from "../consensus-raft/bytes.ts";
import { sha256 } from "./crypto.ts";
import type {
  Checkpoint,
  Digest,
  DurableRecord,
  MessageBody,
  NewView,
  Prepare,
  PreparedCertificate,
  PrePrepare,
  Reply,
  Request,
  StableCheckpoint,
  ViewChange,
} from "./types.ts";

const FORMAT_VERSION = 1;
/** Longest identity (member or client id), in UTF-8 bytes. */
export const MAX_ID_BYTES = 256;

const enum Tag {
  Request = 1,
  PrePrepare = 2,
  Prepare = 3,
  Checkpoint = 4,
  ViewChange = 5,
  NewView = 6,
  Batch = 7,
  Reply = 8,
}

const MESSAGE_TYPES = [
  "request",
  "prePrepare",
  "prepare",
  "commit",
  "checkpoint",
  "viewChange",
  "newView",
  "reply",
  "status",
  "state",
  "committed",
] as const satisfies readonly MessageBody["type"][];

const RECORD_KINDS = [
  "view",
  "prePrepare",
  "prepare",
  "commit",
  "committed",
  "checkpoint",
  "stable",
  "newView",
  "local",
] as const satisfies readonly DurableRecord["kind"][];

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function invalid(field: string, problem: string): SwitchyardError {
  return new SwitchyardError("FRAME_INVALID", `pbft ${field}: ${problem}`);
}

/** A reader that checks each field as it reads it. */
class FieldReader {
  constructor(readonly reader: ByteReader) {}

  get remaining(): number {
    return this.reader.remaining;
  }

  uint(field: string): number {
    const value = this.reader.f64();
    if (!Number.isSafeInteger(value) || value < 0) throw invalid(field, `${value} is not a non-negative integer`);
    return value;
  }

  bool(field: string): boolean {
    const value = this.reader.u8();
    if (value > 1) throw invalid(field, `${value} is not 0 or 1`);
    return value === 1;
  }

  fixed(field: string, length: number): Uint8Array {
    const value = this.reader.bytes();
    if (value.length !== length) throw invalid(field, `${value.length} bytes, expected ${length}`);
    return value;
  }

  digest(field: string): Digest {
    return this.fixed(field, 32);
  }

  signature(field: string): Uint8Array {
    return this.fixed(field, 64);
  }

  bytes(): Uint8Array {
    return this.reader.bytes();
  }

  id(field: string): string {
    const bytes = this.reader.bytes();
    if (bytes.length === 0 || bytes.length > MAX_ID_BYTES) {
      throw invalid(field, `identity of ${bytes.length} bytes (1 to ${MAX_ID_BYTES})`);
    }
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw invalid(field, "identity is not UTF-8");
    }
  }

  /** A count of items that each take at least `minBytes`. */
  count(field: string, minBytes: number): number {
    const value = this.reader.u32();
    if (value * minBytes > this.remaining) throw invalid(field, `${value} items cannot fit in ${this.remaining} bytes`);
    return value;
  }

  list<T>(field: string, minBytes: number, item: () => T): T[] {
    return Array.from({ length: this.count(field, minBytes) }, item);
  }

  index<T>(field: string, values: readonly T[]): T {
    const index = this.reader.u8();
    const value = values[index];
    if (value === undefined) throw invalid(field, `unknown value ${index}`);
    return value;
  }
}

// ---- values --------------------------------------------------------------

function writeRequestBody(writer: ByteWriter, request: Omit<Request, "signature">): void {
  writer.string(request.client).f64(request.sequence).u8(request.readOnly ? 1 : 0).u32(request.operations.length);
  for (const operation of request.operations) writer.bytes(operation);
}

function writeRequest(writer: ByteWriter, request: Request): void {
  writeRequestBody(writer, request);
  writer.bytes(request.signature);
}

function readRequest(fields: FieldReader): Request {
  const client = fields.id("request.client");
  const sequence = fields.uint("request.sequence");
  const readOnly = fields.bool("request.readOnly");
  const operations = fields.list("request.operations", 4, () => fields.bytes());
  const signature = fields.signature("request.signature");
  return { client, sequence, readOnly, operations, signature };
}

function writeBatch(writer: ByteWriter, batch: readonly Request[]): void {
  writer.u32(batch.length);
  for (const request of batch) writeRequest(writer, request);
}

function readBatch(fields: FieldReader, field: string): Request[] {
  return fields.list(field, 8 + 8 + 1 + 4 + 4 + 4, () => readRequest(fields));
}

function writePrePrepare(writer: ByteWriter, prePrepare: PrePrepare, withBatch: boolean): void {
  writer.f64(prePrepare.view).f64(prePrepare.sequence).bytes(prePrepare.digest).bytes(prePrepare.signature);
  const batch = withBatch ? prePrepare.batch : undefined;
  writer.u8(batch ? 1 : 0);
  if (batch) writeBatch(writer, batch);
}

function readPrePrepare(fields: FieldReader, field: string): PrePrepare {
  const view = fields.uint(`${field}.view`);
  const sequence = fields.uint(`${field}.sequence`);
  const digest = fields.digest(`${field}.digest`);
  const signature = fields.signature(`${field}.signature`);
  const prePrepare: PrePrepare = { type: "prePrepare", view, sequence, digest, signature };
  if (fields.bool(`${field}.hasBatch`)) prePrepare.batch = readBatch(fields, `${field}.batch`);
  return prePrepare;
}

function writePrepare(writer: ByteWriter, prepare: Prepare): void {
  writer.f64(prepare.view).f64(prepare.sequence).bytes(prepare.digest).string(prepare.replica).bytes(prepare.signature);
}

function readPrepare(fields: FieldReader, field: string): Prepare {
  return {
    type: "prepare",
    view: fields.uint(`${field}.view`),
    sequence: fields.uint(`${field}.sequence`),
    digest: fields.digest(`${field}.digest`),
    replica: fields.id(`${field}.replica`),
    signature: fields.signature(`${field}.signature`),
  };
}

function writeCheckpoint(writer: ByteWriter, checkpoint: Checkpoint): void {
  writer.f64(checkpoint.sequence).bytes(checkpoint.stateDigest).string(checkpoint.replica).bytes(checkpoint.signature);
}

function readCheckpoint(fields: FieldReader, field: string): Checkpoint {
  return {
    type: "checkpoint",
    sequence: fields.uint(`${field}.sequence`),
    stateDigest: fields.digest(`${field}.stateDigest`),
    replica: fields.id(`${field}.replica`),
    signature: fields.signature(`${field}.signature`),
  };
}

function writeStable(writer: ByteWriter, stable: StableCheckpoint): void {
  writer.f64(stable.sequence).bytes(stable.stateDigest).u32(stable.proof.length);
  for (const checkpoint of stable.proof) writeCheckpoint(writer, checkpoint);
}

function readStable(fields: FieldReader, field: string): StableCheckpoint {
  const sequence = fields.uint(`${field}.sequence`);
  const stateDigest = fields.bytes();
  if (stateDigest.length !== 32 && !(sequence === 0 && stateDigest.length === 0)) {
    throw invalid(`${field}.stateDigest`, `${stateDigest.length} bytes, expected 32`);
  }
  const proof = fields.list(`${field}.proof`, 8 + 36 + 5 + 68, () => readCheckpoint(fields, `${field}.proof`));
  return { sequence, stateDigest, proof };
}

function writeCertificate(writer: ByteWriter, certificate: PreparedCertificate, withBatch: boolean): void {
  writePrePrepare(writer, certificate.prePrepare, withBatch);
  writer.u32(certificate.prepares.length);
  for (const prepare of certificate.prepares) writePrepare(writer, prepare);
}

function readCertificate(fields: FieldReader, field: string): PreparedCertificate {
  const prePrepare = readPrePrepare(fields, `${field}.prePrepare`);
  const prepares = fields.list(
    `${field}.prepares`,
    8 + 8 + 36 + 5 + 68,
    () => readPrepare(fields, `${field}.prepares`),
  );
  return { prePrepare, prepares };
}

function writeViewChange(writer: ByteWriter, viewChange: ViewChange, withBatches: boolean): void {
  writer.f64(viewChange.view);
  writeStable(writer, viewChange.stable);
  writer.u32(viewChange.prepared.length);
  for (const certificate of viewChange.prepared) writeCertificate(writer, certificate, withBatches);
  writer.string(viewChange.replica).bytes(viewChange.signature);
}

function readViewChange(fields: FieldReader, field: string): ViewChange {
  const view = fields.uint(`${field}.view`);
  const stable = readStable(fields, `${field}.stable`);
  const prepared = fields.list(
    `${field}.prepared`,
    8 + 8 + 36 + 68 + 1 + 4,
    () => readCertificate(fields, `${field}.prepared`),
  );
  const replica = fields.id(`${field}.replica`);
  const signature = fields.signature(`${field}.signature`);
  return { type: "viewChange", view, stable, prepared, replica, signature };
}

function writeNewView(writer: ByteWriter, newView: NewView): void {
  writer.f64(newView.view).u32(newView.viewChanges.length);
  for (const viewChange of newView.viewChanges) writeViewChange(writer, viewChange, false);
  writer.u32(newView.prePrepares.length);
  for (const prePrepare of newView.prePrepares) writePrePrepare(writer, prePrepare, true);
  writer.string(newView.replica).bytes(newView.signature);
}

function readNewView(fields: FieldReader, field: string): NewView {
  const view = fields.uint(`${field}.view`);
  const viewChanges = fields.list(
    `${field}.viewChanges`,
    8 + 8 + 4 + 4 + 4 + 5 + 68,
    () => readViewChange(fields, `${field}.viewChanges`),
  );
  const prePrepares = fields.list(
    `${field}.prePrepares`,
    8 + 8 + 36 + 68 + 1,
    () => readPrePrepare(fields, `${field}.prePrepares`),
  );
  const replica = fields.id(`${field}.replica`);
  const signature = fields.signature(`${field}.signature`);
  return { type: "newView", view, viewChanges, prePrepares, replica, signature };
}

// ---- what signatures cover ----------------------------------------------------

/** One writer for the bytes signatures cover: they are copied out at once, so it can be reused. */
const signingWriter = new ByteWriter(4096);

function tagged(tag: Tag, write: (writer: ByteWriter) => void): Uint8Array {
  const writer = signingWriter.reset();
  writer.u8(FORMAT_VERSION).u8(tag);
  write(writer);
  return writer.finish().slice();
}

/** The bytes a client signs. */
export function requestSigningBytes(request: Omit<Request, "signature">): Uint8Array {
  return tagged(Tag.Request, (writer) => writeRequestBody(writer, request));
}

/** The bytes a primary signs for a pre-prepare. */
export function prePrepareSigningBytes(view: number, sequence: number, digest: Digest): Uint8Array {
  return tagged(Tag.PrePrepare, (writer) => writer.f64(view).f64(sequence).bytes(digest));
}

/** The bytes a backup signs for a prepare. */
export function prepareSigningBytes(prepare: Omit<Prepare, "signature" | "type">): Uint8Array {
  return tagged(
    Tag.Prepare,
    (writer) => writer.f64(prepare.view).f64(prepare.sequence).bytes(prepare.digest).string(prepare.replica),
  );
}

/** The bytes a replica signs for a checkpoint. */
export function checkpointSigningBytes(checkpoint: Omit<Checkpoint, "signature" | "type">): Uint8Array {
  return tagged(
    Tag.Checkpoint,
    (writer) => writer.f64(checkpoint.sequence).bytes(checkpoint.stateDigest).string(checkpoint.replica),
  );
}

/** The bytes a replica signs for a view change: everything but the batches (their digests are covered). */
export function viewChangeSigningBytes(viewChange: Omit<ViewChange, "signature">): Uint8Array {
  return tagged(Tag.ViewChange, (writer) => {
    writeViewChange(writer, { ...viewChange, signature: new Uint8Array() }, false);
  });
}

/** The bytes a new primary signs for a new view. */
export function newViewSigningBytes(newView: Omit<NewView, "signature">): Uint8Array {
  return tagged(Tag.NewView, (writer) => {
    writer.f64(newView.view).u32(newView.viewChanges.length);
    for (const viewChange of newView.viewChanges) writeViewChange(writer, viewChange, false);
    writer.u32(newView.prePrepares.length);
    for (const prePrepare of newView.prePrepares) writePrePrepare(writer, prePrepare, false);
    writer.string(newView.replica);
  });
}

function writeReplyBody(writer: ByteWriter, reply: Omit<Reply, "signature" | "type">): void {
  writer.f64(reply.view).string(reply.client).f64(reply.sequence).u8(reply.readOnly ? 1 : 0).u32(reply.results.length);
  for (const result of reply.results) writer.bytes(result);
  writer.string(reply.replica);
}

/** The bytes a replica signs for a reply. */
export function replySigningBytes(reply: Omit<Reply, "signature" | "type">): Uint8Array {
  return tagged(Tag.Reply, (writer) => writeReplyBody(writer, reply));
}

/** The digest of a batch: SHA-256 over its requests, signatures included. */
export function batchDigest(batch: readonly Request[]): Digest {
  return sha256(tagged(Tag.Batch, (writer) => writeBatch(writer, batch)));
}

/** Byte size of a request on the wire (for batch bounds). */
export function requestSizeBytes(request: Request): number {
  let size = request.client.length * 3 + 8 + 1 + 4 + 4 + request.signature.length + 4;
  for (const operation of request.operations) size += 4 + operation.length;
  return size;
}

// ---- wire frames --------------------------------------------------------------

function writeMessage(writer: ByteWriter, message: MessageBody): void {
  writer.u8(MESSAGE_TYPES.indexOf(message.type));
  switch (message.type) {
    case "request":
      return writeRequest(writer, message.request);
    case "prePrepare":
      return writePrePrepare(writer, message, true);
    case "prepare":
      return writePrepare(writer, message);
    case "commit":
      writer.f64(message.view).f64(message.sequence).bytes(message.digest);
      return;
    case "checkpoint":
      return writeCheckpoint(writer, message);
    case "viewChange":
      return writeViewChange(writer, message, true);
    case "newView":
      return writeNewView(writer, message);
    case "reply":
      writeReplyBody(writer, message);
      writer.bytes(message.signature);
      return;
    case "status":
      writer.f64(message.view).u8(message.viewChanging ? 1 : 0).f64(message.executed).f64(message.stable);
      return;
    case "state":
      writeStable(writer, message.stable);
      writer.bytes(message.snapshot);
      return;
    case "committed":
      writer.u32(message.batches.length);
      for (const entry of message.batches) {
        writer.f64(entry.sequence).bytes(entry.digest);
        writeBatch(writer, entry.batch);
      }
      return;
  }
}

function readMessage(fields: FieldReader): MessageBody {
  const type = fields.index("type", MESSAGE_TYPES);
  switch (type) {
    case "request":
      return { type, request: readRequest(fields) };
    case "prePrepare":
      return readPrePrepare(fields, "prePrepare");
    case "prepare":
      return readPrepare(fields, "prepare");
    case "commit":
      return {
        type,
        view: fields.uint("commit.view"),
        sequence: fields.uint("commit.sequence"),
        digest: fields.digest("commit.digest"),
      };
    case "checkpoint":
      return readCheckpoint(fields, "checkpoint");
    case "viewChange":
      return readViewChange(fields, "viewChange");
    case "newView":
      return readNewView(fields, "newView");
    case "reply": {
      const view = fields.uint("reply.view");
      const client = fields.id("reply.client");
      const sequence = fields.uint("reply.sequence");
      const readOnly = fields.bool("reply.readOnly");
      const results = fields.list("reply.results", 4, () => fields.bytes());
      const replica = fields.id("reply.replica");
      const signature = fields.signature("reply.signature");
      return { type, view, client, sequence, readOnly, results, replica, signature };
    }
    case "status":
      return {
        type,
        view: fields.uint("status.view"),
        viewChanging: fields.bool("status.viewChanging"),
        executed: fields.uint("status.executed"),
        stable: fields.uint("status.stable"),
      };
    case "state":
      return { type, stable: readStable(fields, "state.stable"), snapshot: fields.bytes() };
    case "committed":
      return {
        type,
        batches: fields.list("committed.batches", 8 + 36 + 4, () => ({
          sequence: fields.uint("committed.batches.sequence"),
          digest: fields.digest("committed.batches.digest"),
          batch: readBatch(fields, "committed.batches.batch"),
        })),
      };
  }
}

function decodeAll<T>(bytes: Uint8Array, what: string, read: (fields: FieldReader) => T): T[] {
  const fields = new FieldReader(new ByteReader(bytes));
  const version = fields.reader.u8();
  if (version !== FORMAT_VERSION) throw invalid(`${what} format`, `version ${version} is not ${FORMAT_VERSION}`);
  const items = fields.list(what, 1, () => read(fields));
  if (fields.remaining !== 0) throw invalid(what, `${fields.remaining} trailing bytes`);
  return items;
}

/** One writer for frames and records, copied out at the end of each encoding (none runs inside another). */
const frameWriter = new ByteWriter(64 * 1024);

function encodeAll<T>(items: readonly T[], write: (writer: ByteWriter, item: T) => void): Uint8Array {
  const writer = frameWriter.reset();
  writer.u8(FORMAT_VERSION).u32(items.length);
  for (const item of items) write(writer, item);
  return writer.finish().slice();
}

/**
 * Encodes messages (all to one receiver) into one frame.
 *
 * @example
 * ```ts
 * import { decodeMessages, encodeMessages } from "./codec.ts";
 * const frame = encodeMessages([{ type: "status", view: 2, viewChanging: false, executed: 7, stable: 0 }]);
 * decodeMessages(frame)[0].type; // "status"
 * ```
 */
export function encodeMessages(messages: readonly MessageBody[]): Uint8Array {
  return encodeAll(messages, writeMessage);
}

/** Decodes a frame made by {@linkcode encodeMessages}, checking every field. */
export function decodeMessages(frame: Uint8Array): MessageBody[] {
  return decodeAll(frame, "messages", readMessage);
}

function writeRecord(writer: ByteWriter, record: DurableRecord): void {
  writer.u8(RECORD_KINDS.indexOf(record.kind));
  switch (record.kind) {
    case "view":
      writer.f64(record.view).u8(record.viewChanging ? 1 : 0);
      return;
    case "prePrepare":
      return writePrePrepare(writer, record.prePrepare, true);
    case "prepare":
      return writePrepare(writer, record.prepare);
    case "commit":
      writer.f64(record.view).f64(record.sequence).bytes(record.digest);
      return;
    case "committed":
      writer.f64(record.sequence).bytes(record.digest).u8(record.batch ? 1 : 0);
      if (record.batch) writeBatch(writer, record.batch);
      return;
    case "checkpoint":
      return writeCheckpoint(writer, record.checkpoint);
    case "stable":
      writeStable(writer, record.stable);
      writer.bytes(record.snapshot);
      return;
    case "newView":
      return writeNewView(writer, record.newView);
    case "local":
      writer.f64(record.sequence).bytes(record.snapshot);
      return;
  }
}

function readRecord(fields: FieldReader): DurableRecord {
  const kind = fields.index("record.kind", RECORD_KINDS);
  switch (kind) {
    case "view":
      return { kind, view: fields.uint("view.view"), viewChanging: fields.bool("view.viewChanging") };
    case "prePrepare":
      return { kind, prePrepare: readPrePrepare(fields, "prePrepare") };
    case "prepare":
      return { kind, prepare: readPrepare(fields, "prepare") };
    case "commit":
      return {
        kind,
        view: fields.uint("commit.view"),
        sequence: fields.uint("commit.sequence"),
        digest: fields.digest("commit.digest"),
      };
    case "committed": {
      const sequence = fields.uint("committed.sequence");
      const digest = fields.digest("committed.digest");
      return fields.bool("committed.hasBatch")
        ? { kind, sequence, digest, batch: readBatch(fields, "committed.batch") }
        : { kind, sequence, digest };
    }
    case "checkpoint":
      return { kind, checkpoint: readCheckpoint(fields, "checkpoint") };
    case "stable":
      return { kind, stable: readStable(fields, "stable"), snapshot: fields.bytes() };
    case "newView":
      return { kind, newView: readNewView(fields, "newView") };
    case "local":
      return { kind, sequence: fields.uint("local.sequence"), snapshot: fields.bytes() };
  }
}

/** Encodes durable records (one write to the log). */
export function encodeRecords(records: readonly DurableRecord[]): Uint8Array {
  return encodeAll(records, writeRecord);
}

/** Decodes records made by {@linkcode encodeRecords}. */
export function decodeRecords(bytes: Uint8Array): DurableRecord[] {
  return decodeAll(bytes, "records", readRecord);
}
