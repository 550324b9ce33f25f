/**
 * The one deduplication layer every engine applies its log through. It
 * wraps the application's state machine: a committed command with a client
 * identity executes only if the client table admits it, and its outcome is
 * cached; the table is snapshotted and restored together with the
 * application's state, in a versioned envelope, so a replica restored from a
 * snapshot (or a new engine after a switch) deduplicates exactly as before.
 *
 * Snapshot layout: `0xFF 0x53 version(1)`, the table's byte length (`u32`,
 * big endian), the table ({@linkcode ClientTable.encode}), then the
 * application's snapshot bytes to the end. Bytes without the marker are an
 * application snapshot written before the envelope existed: restored with
 * an empty table.
 *
 * @module
 */
import { decodeClientCommand } from "../../core/contracts/client_command.ts";
import { type CachedOutcome, type ClientRecord, ClientTable, type ClientTableLimits } from "./client_table.ts";
import {
  type ClientRequest,
  type Committed,
  ConsensusError,
  type ConsensusStateMachine,
  type LogPosition,
} from "../../core/contracts/consensus.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import { type Logger, silentLogger } from "../../core/util/logger.ts";
import { jsonResultCodec, type ResultCodec } from "../../core/contracts/result_codec.ts";

/** What one applied log entry gives its proposer. */
export type ApplyOutcome<Result> = { ok: true; committed: Committed<Result> } | { ok: false; error: Error };

/** Counters of a {@linkcode DeduplicatingStateMachine} (since it was made; not part of snapshots). */
export interface DeduplicationStats {
  /** Clients in the table. */
  clients: number;
  /** Bytes counted against the table's `maxCachedBytes`. */
  cachedBytes: number;
  /** Clients evicted to keep within the limits. */
  evictedClients: number;
  /** Commands answered from the table instead of being applied again. */
  duplicates: number;
  /** Commands refused with `STALE_REQUEST`. */
  staleRequests: number;
  /** Commands refused with `UNKNOWN_CLIENT`. */
  unknownClients: number;
  /** Commands whose bytes could not be decoded, whose `apply` threw, or whose result could not be encoded. */
  failedCommands: number;
}

/** How a {@linkcode DeduplicatingStateMachine} runs. */
export interface DeduplicationOptions extends Partial<ClientTableLimits> {
  /** Where failures are logged. */
  logger?: Logger;
}

const MARKER = [0xff, 0x53] as const;
const VERSION = 1;
const HEADER_BYTES = 7;

/**
 * The application's state machine behind the client table. Engines call
 * {@linkcode DeduplicatingStateMachine.apply} for every committed command
 * entry (in log order, on every replica), or
 * {@linkcode DeduplicatingStateMachine.applyRequest} when their entries
 * carry the identity themselves, and take snapshots and restore through it;
 * {@linkcode DeduplicatingStateMachine.client} is the latest reply of a
 * client (PBFT's `lastReply`).
 *
 * @example
 * ```ts
 * import { encodeProposal } from "../../core/contracts/client_command.ts";
 * import { DeduplicatingStateMachine } from "./deduplicating_machine.ts";
 * const app = { count: 0, apply: () => ++app.count, snapshot: () => new Uint8Array(), restore() {} };
 * const machine = new DeduplicatingStateMachine(app);
 * const entry = encodeProposal(new Uint8Array([1]), { clientId: "c1", sequence: 1 });
 * machine.apply(entry, { index: 1, term: 1 }); // { ok: true, committed: { index: 1, term: 1, result: 1 } }
 * machine.apply(entry, { index: 2, term: 1 }); // the same result, duplicate: true; app.count stays 1
 * ```
 */
export class DeduplicatingStateMachine<Result = unknown> {
  /** The application's state machine. */
  readonly machine: ConsensusStateMachine<Result>;
  readonly #codec: ResultCodec<Result>;
  readonly #limits: Partial<ClientTableLimits>;
  readonly #logger: Logger;
  #table: ClientTable;
  #counts = { duplicates: 0, staleRequests: 0, unknownClients: 0, failedCommands: 0, evictedBefore: 0 };

  /** Wraps `machine`; the table limits must be the same on every replica. */
  constructor(machine: ConsensusStateMachine<Result>, options: DeduplicationOptions = {}) {
    this.machine = machine;
    this.#codec = machine.resultCodec ?? (jsonResultCodec as ResultCodec<Result>);
    this.#limits = { maxClients: options.maxClients, maxCachedBytes: options.maxCachedBytes };
    for (const key of ["maxClients", "maxCachedBytes"] as const) {
      if (this.#limits[key] === undefined) delete this.#limits[key];
    }
    this.#logger = options.logger ?? silentLogger;
    this.#table = new ClientTable(this.#limits);
  }

  /** What the table holds for `clientId` (for tests and diagnostics). */
  client(clientId: string): ClientRecord | undefined {
    return this.#table.get(clientId);
  }

  /** The counters. */
  stats(): DeduplicationStats {
    return {
      clients: this.#table.size,
      cachedBytes: this.#table.cachedBytes,
      evictedClients: this.#counts.evictedBefore + this.#table.evicted,
      duplicates: this.#counts.duplicates,
      staleRequests: this.#counts.staleRequests,
      unknownClients: this.#counts.unknownClients,
      failedCommands: this.#counts.failedCommands,
    };
  }

  /**
   * Applies one committed entry made by `encodeClientCommand` (or a command
   * from before identities), deterministically: what it changes and what it
   * answers depend only on the log. Never throws: failures come back as
   * `{ ok: false, error }`, and are logged and counted.
   */
  apply(data: Uint8Array, position: LogPosition): ApplyOutcome<Result> {
    let command: Uint8Array;
    let request: ClientRequest | undefined;
    try {
      ({ command, request } = decodeClientCommand(data));
    } catch (error) {
      return this.#failed("a committed entry is not a client command", position, error as Error);
    }
    return this.applyRequest(command, request, position);
  }

  /**
   * Applies one committed command whose identity the engine carries itself
   * (PBFT's signed requests name their client and sequence), with the same
   * rules and outcomes as {@linkcode DeduplicatingStateMachine.apply}. With
   * `request` undefined the command is applied without deduplication.
   */
  applyRequest(command: Uint8Array, request: ClientRequest | undefined, position: LogPosition): ApplyOutcome<Result> {
    if (!request) return this.#execute(command, position);
    const admission = this.#table.admit(request);
    switch (admission.status) {
      case "duplicate":
        this.#counts.duplicates++;
        return this.#answerDuplicate(admission.record);
      case "stale":
        this.#counts.staleRequests++;
        return {
          ok: false,
          error: new ConsensusError(
            "STALE_REQUEST",
            `client ${request.clientId} sent sequence ${request.sequence}, but ${admission.record.sequence} ` +
              `already executed (index ${admission.record.index}); not applied`,
          ),
        };
      case "unknown":
        this.#counts.unknownClients++;
        return {
          ok: false,
          error: new ConsensusError(
            "UNKNOWN_CLIENT",
            `client ${request.clientId} is not in the client table (evicted, or its earlier commands never ` +
              `executed) and sequence ${request.sequence} is not 1; not applied: start again with a new client id`,
          ),
        };
      case "new":
        return this.#executeRecorded(command, request, position);
    }
  }

  /** The envelope: the client table and the application's snapshot. */
  snapshot(): Uint8Array {
    const table = this.#table.encode();
    const app = this.machine.snapshot();
    const bytes = new Uint8Array(HEADER_BYTES + table.byteLength + app.byteLength);
    bytes.set([MARKER[0], MARKER[1], VERSION]);
    new DataView(bytes.buffer).setUint32(3, table.byteLength);
    bytes.set(table, HEADER_BYTES);
    bytes.set(app, HEADER_BYTES + table.byteLength);
    return bytes;
  }

  /**
   * Restores the table and the application from a snapshot envelope (or,
   * without the marker, the application alone with an empty table). Throws
   * `FRAME_INVALID` for a damaged envelope, before anything changes.
   */
  restore(snapshot: Uint8Array): void {
    let table = new ClientTable(this.#limits);
    let app = snapshot;
    if (snapshot.byteLength >= 2 && snapshot[0] === MARKER[0] && snapshot[1] === MARKER[1]) {
      if (snapshot.byteLength < HEADER_BYTES) throw envelopeError("shorter than its header");
      if (snapshot[2] !== VERSION) throw envelopeError(`format ${snapshot[2]} is not ${VERSION}`);
      const tableBytes = new DataView(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength).getUint32(3);
      if (HEADER_BYTES + tableBytes > snapshot.byteLength) throw envelopeError("the client table runs past the end");
      table = ClientTable.decode(snapshot.subarray(HEADER_BYTES, HEADER_BYTES + tableBytes), this.#limits);
      app = snapshot.subarray(HEADER_BYTES + tableBytes);
    }
    this.machine.restore(app);
    this.#counts.evictedBefore += this.#table.evicted;
    this.#table = table;
  }

  #execute(command: Uint8Array, position: LogPosition): ApplyOutcome<Result> {
    try {
      return { ok: true, committed: { ...position, result: this.machine.apply(command, position) } };
    } catch (error) {
      return this.#failed("the state machine's apply threw", position, error as Error);
    }
  }

  #executeRecorded(command: Uint8Array, request: ClientRequest, position: LogPosition): ApplyOutcome<Result> {
    let result: Result;
    try {
      result = this.machine.apply(command, position);
    } catch (error) {
      this.#table.record(request, position, { ok: false, reason: `apply threw: ${error}` });
      return this.#failed("the state machine's apply threw", position, error as Error, request);
    }
    let outcome: CachedOutcome;
    try {
      outcome = { ok: true, result: this.#codec.encode(result) };
    } catch (error) {
      const reason = `its result cannot be encoded by the state machine's resultCodec: ${(error as Error).message}`;
      this.#table.record(request, position, { ok: false, reason });
      return this.#failed(
        "a result could not be encoded",
        position,
        new ConsensusError("RESULT_UNAVAILABLE", `executed at index ${position.index}, but ${reason}`),
        request,
      );
    }
    this.#table.record(request, position, outcome);
    return { ok: true, committed: { ...position, result } };
  }

  #answerDuplicate(record: ClientRecord): ApplyOutcome<Result> {
    const position = { index: record.index, term: record.term };
    const unavailable = (reason: string): ApplyOutcome<Result> => ({
      ok: false,
      error: new ConsensusError(
        "RESULT_UNAVAILABLE",
        `client ${record.clientId} sequence ${record.sequence} executed at index ${record.index}; not applied ` +
          `again, but ${reason}`,
      ),
    });
    if (!record.outcome.ok) return unavailable(record.outcome.reason);
    try {
      return {
        ok: true,
        committed: { ...position, result: this.#codec.decode(record.outcome.result), duplicate: true },
      };
    } catch (error) {
      return unavailable(`its cached result cannot be decoded: ${(error as Error).message}`);
    }
  }

  #failed(what: string, position: LogPosition, error: Error, request?: ClientRequest): ApplyOutcome<Result> {
    this.#counts.failedCommands++;
    this.#logger.error(what, { index: position.index, ...request, error: String(error) });
    return { ok: false, error };
  }
}

function envelopeError(message: string): SwitchyardError {
  return new SwitchyardError("FRAME_INVALID", `snapshot envelope: ${message}`);
}
