/**
 * The deduplication table: per client, the highest sequence executed, where
 * it executed and its encoded outcome. Deterministic: it changes only on
 * `record`, which engines call while applying the log, so every replica that
 * applies the same log holds the same table (and encodes it to the same
 * bytes for its snapshots).
 *
 * Bounded: at most `maxClients` clients and `maxCachedBytes` of cached
 * results and ids. Past either bound the client whose latest command is
 * oldest in the log is evicted (the least recently active: the smallest log
 * index), decided from the log alone, so every replica evicts the same
 * clients. An evicted client's next command is refused with
 * `UNKNOWN_CLIENT` (it is not applied): a retry that comes back after its
 * client was evicted is refused, not executed again, unless it is the
 * client's very first command (sequence 1), which the table cannot tell
 * from a new client's.
 *
 * @module
 */
import type { ClientRequest, LogPosition } from "../../core/contracts/consensus.ts";
import { MAX_CLIENT_ID_LENGTH } from "../../core/contracts/client_command.ts";
import { SwitchyardError } from "../../core/util/errors.ts";

/** How large the table may grow. Every replica must use the same limits (they decide eviction). */
export interface ClientTableLimits {
  /** Clients tracked at most (default 10,000). */
  maxClients: number;
  /** Bytes of cached results and client ids held at most, counting 48 bytes of overhead per client (default 64 MiB). */
  maxCachedBytes: number;
}

/** The default limits. */
export const DEFAULT_CLIENT_TABLE_LIMITS: Readonly<ClientTableLimits> = Object.freeze({
  maxClients: 10_000,
  maxCachedBytes: 64 * 1024 * 1024,
});

/** A command's outcome as cached: its encoded result, or why none can be given. */
export type CachedOutcome = { ok: true; result: Uint8Array } | { ok: false; reason: string };

/** What the table holds for one client. */
export interface ClientRecord extends LogPosition {
  /** The client. */
  clientId: string;
  /** Highest sequence executed. */
  sequence: number;
  /** Its outcome. */
  outcome: CachedOutcome;
}

/** What the table says of a request before it is applied. */
export type Admission =
  | { status: "new" }
  | { status: "duplicate"; record: ClientRecord }
  | { status: "stale"; record: ClientRecord }
  | { status: "unknown" };

interface Entry extends ClientRecord {
  id: Uint8Array;
  sizeBytes: number;
}

const RECORD_OVERHEAD_BYTES = 48;
const FORMAT_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The table.
 *
 * @example
 * ```ts
 * import { ClientTable } from "./client_table.ts";
 * const table = new ClientTable();
 * table.admit({ clientId: "c1", sequence: 1 }).status; // "new"
 * table.record({ clientId: "c1", sequence: 1 }, { index: 5, term: 1 }, { ok: true, result: new Uint8Array() });
 * table.admit({ clientId: "c1", sequence: 1 }).status; // "duplicate"
 * ```
 */
export class ClientTable {
  /** Kept in order of log index: each record moves to the end, so the first is the least recently active. */
  readonly #clients = new Map<string, Entry>();
  readonly #limits: ClientTableLimits;
  #cachedBytes = 0;
  #evicted = 0;
  #lastIndex = 0;

  /** An empty table; limits default to {@linkcode DEFAULT_CLIENT_TABLE_LIMITS}. */
  constructor(limits: Partial<ClientTableLimits> = {}) {
    this.#limits = { ...DEFAULT_CLIENT_TABLE_LIMITS, ...limits };
    for (const [name, value] of Object.entries(this.#limits)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new SwitchyardError("INVALID_ARGUMENT", `client table ${name} must be a positive integer, got ${value}`);
      }
    }
  }

  /** Clients tracked now. */
  get size(): number {
    return this.#clients.size;
  }

  /** Bytes counted against `maxCachedBytes` now. */
  get cachedBytes(): number {
    return this.#cachedBytes;
  }

  /** Clients evicted since this table was made or decoded (not part of the encoding). */
  get evicted(): number {
    return this.#evicted;
  }

  /** What the table holds for `clientId`. */
  get(clientId: string): ClientRecord | undefined {
    const entry = this.#clients.get(clientId);
    return entry && toRecord(entry);
  }

  /** Classifies `request`; changes nothing. */
  admit(request: ClientRequest): Admission {
    const entry = this.#clients.get(request.clientId);
    if (!entry) return request.sequence === 1 ? { status: "new" } : { status: "unknown" };
    if (request.sequence > entry.sequence) return { status: "new" };
    return { status: request.sequence === entry.sequence ? "duplicate" : "stale", record: toRecord(entry) };
  }

  /**
   * Records that `request` executed at `position` with `outcome`, then
   * evicts what exceeds the limits. Positions must grow from call to call
   * (the log's order).
   */
  record(request: ClientRequest, position: LogPosition, outcome: CachedOutcome): void {
    if (position.index <= this.#lastIndex) {
      throw new SwitchyardError("INVALID_ARGUMENT", `index ${position.index} is not past ${this.#lastIndex}`);
    }
    const previous = this.#clients.get(request.clientId);
    if (previous) this.#remove(previous);
    const id = previous?.id ?? encoder.encode(request.clientId);
    this.#add({ ...request, ...position, outcome, id, sizeBytes: sizeOf(id, outcome) });
    this.#evictPastLimits();
  }

  /** The table as bytes, for a snapshot: the same table gives the same bytes. */
  encode(): Uint8Array {
    let length = 1 + 4;
    for (const entry of this.#clients.values()) {
      length += 2 + entry.id.byteLength + 24 + 1 + 4 + outcomeBytes(entry).length;
    }
    const bytes = new Uint8Array(length);
    const view = new DataView(bytes.buffer);
    bytes[0] = FORMAT_VERSION;
    view.setUint32(1, this.#clients.size);
    let offset = 5;
    for (const entry of this.#clients.values()) {
      view.setUint16(offset, entry.id.byteLength);
      bytes.set(entry.id, offset + 2);
      offset += 2 + entry.id.byteLength;
      view.setFloat64(offset, entry.sequence);
      view.setFloat64(offset + 8, entry.index);
      view.setFloat64(offset + 16, entry.term);
      bytes[offset + 24] = entry.outcome.ok ? 1 : 0;
      const body = outcomeBytes(entry);
      view.setUint32(offset + 25, body.byteLength);
      bytes.set(body, offset + 29);
      offset += 29 + body.byteLength;
    }
    return bytes;
  }

  /**
   * Reads what {@linkcode ClientTable.encode} wrote, checking every field
   * (`FRAME_INVALID` naming the problem); applies `limits`, evicting the
   * least recently active clients when the encoded table exceeds them.
   */
  static decode(bytes: Uint8Array, limits: Partial<ClientTableLimits> = {}): ClientTable {
    const table = new ClientTable(limits);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const need = (offset: number, count: number, what: string) => {
      if (offset + count > bytes.byteLength) throw corrupt(`${what} runs past the end`);
    };
    need(0, 5, "the header");
    if (bytes[0] !== FORMAT_VERSION) throw corrupt(`format ${bytes[0]} is not ${FORMAT_VERSION}`);
    const count = view.getUint32(1);
    let offset = 5;
    let lastIndex = 0;
    for (let i = 0; i < count; i++) {
      need(offset, 2, `client ${i}`);
      const idLength = view.getUint16(offset);
      need(offset + 2, idLength + 29, `client ${i}`);
      const id = bytes.slice(offset + 2, offset + 2 + idLength);
      offset += 2 + idLength;
      let clientId: string;
      try {
        clientId = decoder.decode(id);
      } catch {
        throw corrupt(`client ${i}: the id is not UTF-8`);
      }
      const [sequence, index, term] = [0, 8, 16].map((at) => view.getFloat64(offset + at));
      const ok = bytes[offset + 24];
      const bodyLength = view.getUint32(offset + 25);
      need(offset + 29, bodyLength, `client ${i}'s outcome`);
      const body = bytes.slice(offset + 29, offset + 29 + bodyLength);
      offset += 29 + bodyLength;
      if (clientId.length < 1 || clientId.length > MAX_CLIENT_ID_LENGTH) throw corrupt(`client ${i}: bad id length`);
      if (table.#clients.has(clientId)) throw corrupt(`client ${clientId} appears twice`);
      for (const [name, value] of [["sequence", sequence], ["index", index], ["term", term]] as const) {
        if (!Number.isSafeInteger(value) || value < (name === "term" ? 0 : 1)) {
          throw corrupt(`client ${clientId}: ${name} ${value} is not a valid integer`);
        }
      }
      if (index <= lastIndex) throw corrupt(`client ${clientId}: index ${index} is not past ${lastIndex}`);
      if (ok > 1) throw corrupt(`client ${clientId}: outcome flag ${ok}`);
      lastIndex = index;
      let outcome: CachedOutcome;
      if (ok === 1) outcome = { ok: true, result: body };
      else {
        try {
          outcome = { ok: false, reason: decoder.decode(body) };
        } catch {
          throw corrupt(`client ${clientId}: the reason is not UTF-8`);
        }
      }
      table.#add({ clientId, sequence, index, term, outcome, id, sizeBytes: sizeOf(id, outcome) });
    }
    if (offset !== bytes.byteLength) throw corrupt(`${bytes.byteLength - offset} trailing bytes`);
    table.#evictPastLimits();
    table.#evicted = 0;
    return table;
  }

  #add(entry: Entry): void {
    this.#clients.set(entry.clientId, entry);
    this.#cachedBytes += entry.sizeBytes;
    this.#lastIndex = entry.index;
  }

  #remove(entry: Entry): void {
    this.#clients.delete(entry.clientId);
    this.#cachedBytes -= entry.sizeBytes;
  }

  #evictPastLimits(): void {
    const { maxClients, maxCachedBytes } = this.#limits;
    while (this.#clients.size > maxClients || (this.#cachedBytes > maxCachedBytes && this.#clients.size > 1)) {
      const oldest = this.#clients.values().next().value!;
      this.#remove(oldest);
      this.#evicted++;
    }
  }
}

function corrupt(message: string): SwitchyardError {
  return new SwitchyardError("FRAME_INVALID", `client table: ${message}`);
}

function outcomeBytes(entry: Entry): Uint8Array {
  return entry.outcome.ok ? entry.outcome.result : encoder.encode(entry.outcome.reason);
}

function sizeOf(id: Uint8Array, outcome: CachedOutcome): number {
  const body = outcome.ok ? outcome.result.byteLength : encoder.encode(outcome.reason).byteLength;
  return RECORD_OVERHEAD_BYTES + id.byteLength + body;
}

function toRecord(entry: Entry): ClientRecord {
  const { clientId, sequence, index, term, outcome } = entry;
  return { clientId, sequence, index, term, outcome };
}
