/**
 * The replicated service PBFT executes requests on: the application's state
 * machine behind two client tables, both built on the one deduplication
 * layer every engine uses (`plugins/consensus-kit/deduplicating_machine.ts`):
 *
 * - the **request table** (outer) keeps, per PBFT client (a replica's
 *   embedded lane, or an outside client's key), the latest request and its
 *   outcomes: PBFT's "last reply" table, so a request that is ordered twice
 *   executes once;
 * - the **command table** (inner) keeps, per application client, the
 *   latest command proposed with an identity (`propose(command, { clientId,
 *   sequence })`): the same table Raft keeps, in the same snapshot format,
 *   so a command retried across replicas, views or engines runs once.
 *
 * A request carries several operations (a replica bundles what its callers
 * proposed meanwhile); each is one command, or an empty operation, a barrier
 * that changes nothing (used by linearizable reads). Operation `i` of the
 * batch at sequence `s` gets the position `{ index, term: s }`, where
 * `index` counts every operation executed so far: deterministic, so the
 * snapshot (and every checkpoint's digest) is the same on every replica.
 *
 * @module
 */
import { decodeClientCommand } from "../../core/contracts/client_command.ts";
import type { ClientTableLimits } from "../consensus-kit/client_table.ts";
import type { ConsensusStateMachine, LogPosition } from "../../core/contracts/consensus.ts";
import {
  type ApplyOutcome,
  DeduplicatingStateMachine,
  type DeduplicationStats,
} from "../consensus-kit/deduplicating_machine.ts";
import { ERROR_CODE_PATTERN, SwitchyardError } from "../../core/util/errors.ts";
import { PBFT_ERRORS } from "./errors.ts";
import type { Logger } from "../../core/util/logger.ts";
import { jsonResultCodec, type ResultCodec } from "../../core/contracts/result_codec.ts";
import { ByteReader, ByteWriter } from "../consensus-raft/bytes.ts";
import type { ReplicatedService } from "./pbft.ts";
import type { Request } from "./types.ts";
import { isOutsideClient } from "./crypto.ts";

const OK = 1;
const HANDED_OVER = new Uint8Array();
const FAILED = 0;

/** Encodes what one operation gave, as a reply carries it. */
export function encodeOutcome<Result>(outcome: ApplyOutcome<Result>, codec: ResultCodec<Result>): Uint8Array {
  if (outcome.ok) {
    let result: Uint8Array;
    try {
      result = codec.encode(outcome.committed.result);
    } catch (error) {
      return encodeOutcome(
        {
          ok: false,
          error: new SwitchyardError("RESULT_UNAVAILABLE", `result not encodable: ${(error as Error).message}`),
        },
        codec,
      );
    }
    const { index, term, duplicate } = outcome.committed;
    const bytes = new Uint8Array(22 + result.byteLength);
    const view = new DataView(bytes.buffer);
    bytes[0] = OK;
    bytes[1] = duplicate ? 1 : 0;
    view.setFloat64(2, index);
    view.setFloat64(10, term);
    view.setUint32(18, result.byteLength);
    bytes.set(result, 22);
    return bytes;
  }
  // The application's own errors travel as COMMAND_FAILED with their message.
  const code: string = outcome.error instanceof SwitchyardError ? outcome.error.code : "COMMAND_FAILED";
  return new ByteWriter().u8(FAILED).string(code).string(outcome.error.message).finish().slice();
}

/** Decodes what {@linkcode encodeOutcome} wrote; throws `FRAME_INVALID` for anything else. */
export function decodeOutcome<Result>(bytes: Uint8Array, codec: ResultCodec<Result>): ApplyOutcome<Result> {
  const reader = new ByteReader(bytes);
  const status = reader.u8();
  let outcome: ApplyOutcome<Result>;
  if (status === OK) {
    const duplicate = reader.u8() === 1;
    const index = reader.f64();
    const term = reader.f64();
    const result = codec.decode(reader.bytes());
    outcome = { ok: true, committed: { index, term, result, ...(duplicate ? { duplicate } : {}) } };
  } else if (status === FAILED) {
    const code = reader.string();
    const message = reader.string();
    // Any well-formed code travels (the core's, a plugin's, the application's own).
    const error = ERROR_CODE_PATTERN.test(code)
      ? new SwitchyardError<string>(code, message)
      : PBFT_ERRORS.error("COMMAND_FAILED", message);
    outcome = { ok: false, error };
  } else {
    throw new SwitchyardError("FRAME_INVALID", `an operation's outcome starts with ${status}, not 0 or 1`);
  }
  if (reader.remaining !== 0) throw new SwitchyardError("FRAME_INVALID", `${reader.remaining} bytes after an outcome`);
  return outcome;
}

/**
 * The authenticated proposer of a request: the replica before `#` of an
 * embedded client's name, or the `key:` identity of an outside client (the
 * machine checked the request's signature by that key before it ordered it).
 */
function proposerOf(client: string): string {
  if (isOutsideClient(client)) return client;
  return client.slice(0, client.indexOf("#"));
}

function encodeOperations(operations: readonly Uint8Array[]): Uint8Array {
  const writer = new ByteWriter();
  writer.u32(operations.length);
  for (const operation of operations) writer.bytes(operation);
  return writer.finish().slice();
}

function decodeOperations(bytes: Uint8Array): Uint8Array[] {
  const reader = new ByteReader(bytes);
  return Array.from({ length: reader.u32() }, () => reader.bytes());
}

/** The operations of one request, applied in order through the command table. */
class BundleMachine<Result> implements ConsensusStateMachine<ApplyOutcome<Result>[]> {
  /** Operations executed so far (the next one's index is one more). */
  executedOperations = 0;
  readonly commands: DeduplicatingStateMachine<Result>;
  readonly resultCodec: ResultCodec<ApplyOutcome<Result>[]>;

  constructor(
    readonly application: ConsensusStateMachine<Result>,
    limits: Partial<ClientTableLimits>,
    logger?: Logger,
  ) {
    this.commands = new DeduplicatingStateMachine(application, { ...limits, logger });
    const codec = application.resultCodec ?? (jsonResultCodec as ResultCodec<Result>);
    this.resultCodec = {
      encode: (outcomes) => encodeOperations(outcomes.map((outcome) => encodeOutcome(outcome, codec))),
      decode: (bytes) => decodeOperations(bytes).map((outcome) => decodeOutcome(outcome, codec)),
    };
  }

  /** The operations of the request being executed, handed over without encoding them (see `PbftService.execute`). */
  handedOver: readonly Uint8Array[] | undefined;

  apply(bundle: Uint8Array, position: LogPosition): ApplyOutcome<Result>[] {
    const operations = this.handedOver ?? decodeOperations(bundle);
    this.handedOver = undefined;
    return operations.map((operation) => {
      const at: LogPosition = { index: ++this.executedOperations, term: position.term };
      if (position.proposer !== undefined) at.proposer = position.proposer;
      // An empty operation is a barrier: it changes nothing.
      if (operation.byteLength === 0) return { ok: true, committed: { ...at, result: undefined as Result } };
      return this.commands.apply(operation, at);
    });
  }

  snapshot(): Uint8Array {
    const commands = this.commands.snapshot();
    const bytes = new Uint8Array(8 + commands.byteLength);
    new DataView(bytes.buffer).setFloat64(0, this.executedOperations);
    bytes.set(commands, 8);
    return bytes;
  }

  restore(snapshot: Uint8Array): void {
    if (snapshot.byteLength < 8) throw new SwitchyardError("FRAME_INVALID", "a PBFT service snapshot is too short");
    const executed = new DataView(snapshot.buffer, snapshot.byteOffset, 8).getFloat64(0);
    if (!Number.isSafeInteger(executed) || executed < 0) {
      throw new SwitchyardError("FRAME_INVALID", `a PBFT service snapshot counts ${executed} operations`);
    }
    this.commands.restore(snapshot.subarray(8));
    this.executedOperations = executed;
  }
}

/** How a {@linkcode PbftService} runs. */
export interface PbftServiceOptions extends Partial<ClientTableLimits> {
  /** True for the clients of this replica's own embedded client, whose outcomes are kept for {@linkcode PbftService.takeOutcomes}. */
  isLocal(client: string): boolean;
  /** Where failures are logged. */
  logger?: Logger;
}

/**
 * The service a PBFT replica executes on.
 *
 * @example
 * ```ts ignore
 * import { PbftService } from "./service.ts";
 * const service = new PbftService(myMachine, { isLocal: (client) => client.startsWith("n1#") });
 * ```
 */
export class PbftService<Result> implements ReplicatedService {
  readonly #requests: DeduplicatingStateMachine<ApplyOutcome<Result>[]>;
  readonly #bundle: BundleMachine<Result>;
  readonly #codec: ResultCodec<Result>;
  readonly #options: PbftServiceOptions;
  readonly #local = new Map<string, ApplyOutcome<Result>[]>();

  /** Wraps the application's state machine; the table limits must be the same on every replica. */
  constructor(machine: ConsensusStateMachine<Result>, options: PbftServiceOptions) {
    this.#options = options;
    const limits = { maxClients: options.maxClients, maxCachedBytes: options.maxCachedBytes };
    for (const key of ["maxClients", "maxCachedBytes"] as const) if (limits[key] === undefined) delete limits[key];
    this.#bundle = new BundleMachine(machine, limits, options.logger);
    this.#requests = new DeduplicatingStateMachine(this.#bundle, { ...limits, logger: options.logger });
    this.#codec = machine.resultCodec ?? (jsonResultCodec as ResultCodec<Result>);
  }

  /** Operations executed so far. */
  get executedOperations(): number {
    return this.#bundle.executedOperations;
  }

  /** Counters of the command table (the application's client identities). */
  stats(): DeduplicationStats {
    return this.#bundle.commands.stats();
  }

  /** Executes a request once; `undefined` for a request already executed (or an older one). */
  execute(request: Request, sequence: number): Uint8Array[] | undefined {
    const position: LogPosition = {
      index: this.#bundle.executedOperations + 1,
      term: sequence,
      proposer: proposerOf(request.client),
    };
    // The request table only passes the command on to the bundle machine, so the operations go to it directly.
    this.#bundle.handedOver = request.operations;
    const outcome = this.#requests.applyRequest(
      HANDED_OVER,
      { clientId: request.client, sequence: request.sequence },
      position,
    );
    this.#bundle.handedOver = undefined;
    let outcomes: ApplyOutcome<Result>[];
    if (outcome.ok) {
      if (outcome.committed.duplicate) return undefined;
      outcomes = outcome.committed.result;
    } else {
      const code = (outcome.error as SwitchyardError<string>).code as string | undefined;
      if (code === "STALE_REQUEST") return undefined;
      outcomes = request.operations.map(() => ({ ok: false, error: outcome.error }));
    }
    if (this.#options.isLocal(request.client)) this.#local.set(`${request.client}\u0000${request.sequence}`, outcomes);
    return outcomes.map((item) => encodeOutcome(item, this.#codec));
  }

  /** What this replica's own request gave, once (undefined when it did not execute here). */
  takeOutcomes(client: string, sequence: number): ApplyOutcome<Result>[] | undefined {
    const key = `${client}\u0000${sequence}`;
    const outcomes = this.#local.get(key);
    this.#local.delete(key);
    return outcomes;
  }

  /** The client's latest request number and its reply. */
  lastReply(client: string): { sequence: number; results: Uint8Array[] } | undefined {
    const record = this.#requests.client(client);
    if (!record) return undefined;
    if (!record.outcome.ok) {
      const failed = encodeOutcome<Result>({
        ok: false,
        error: new SwitchyardError("RESULT_UNAVAILABLE", record.outcome.reason),
      }, this.#codec);
      return { sequence: record.sequence, results: [failed] };
    }
    return { sequence: record.sequence, results: decodeOperations(record.outcome.result) };
  }

  /** Answers a read-only request from the current state (the application's `query`). */
  query(request: Request): Uint8Array[] {
    const { application } = this.#bundle;
    return request.operations.map((operation) => {
      let outcome: ApplyOutcome<Result>;
      try {
        if (!application.query) {
          throw new SwitchyardError("INVALID_ARGUMENT", "read-only requests need the state machine's query()");
        }
        const result = application.query(decodeClientCommand(operation).command);
        outcome = { ok: true, committed: { index: this.#bundle.executedOperations, term: 0, result } };
      } catch (error) {
        outcome = { ok: false, error: error as Error };
      }
      return encodeOutcome(outcome, this.#codec);
    });
  }

  /** Both tables and the application's state. */
  snapshot(): Uint8Array {
    return this.#requests.snapshot();
  }

  /** Replaces everything with a snapshot's. */
  restore(snapshot: Uint8Array): void {
    this.#requests.restore(snapshot);
    this.#local.clear();
  }
}

/** Decodes the results of a reply, as an outside client receives them. */
export function decodeResults<Result>(
  results: readonly Uint8Array[],
  codec: ResultCodec<Result>,
): ApplyOutcome<Result>[] {
  return results.map((bytes) => decodeOutcome(bytes, codec));
}
