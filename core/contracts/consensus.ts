/**
 * The consensus contract: propose a command and learn when it is committed
 * (or why not), read linearizably, observe committed commands in order through
 * the application's state machine, snapshot and restore, change membership,
 * and report leader and health. Commands may carry a client identity (client
 * id and sequence number) that makes them execute at most once across
 * retries, leader changes and engine switches. Every consensus plugin meets
 * it and passes the consensus compliance suite in `testing/mod.ts`.
 *
 * @module
 */
import { SwitchyardError } from "../util/errors.ts";
import type { ResultCodec } from "./result_codec.ts";

/** Identifies a replica. */
export type NodeId = string;

/** Where a committed command sits in the replicated log. */
export interface LogPosition {
  /** Position in the log, from 1. */
  index: number;
  /** The leader term that wrote it. */
  term: number;
  /**
   * The member whose signed request carried the command, in engines that
   * authenticate each proposer (PBFT: the replica whose key signed it, or an
   * outside client's `key:` identity). Absent where members are trusted and
   * the leader proposes for everyone (Raft).
   */
  proposer?: NodeId;
}

/**
 * The application's deterministic state machine. Every replica applies the
 * same commands in the same order; `apply`'s result goes back to the proposer.
 *
 * @example
 * ```ts
 * import type { ConsensusStateMachine } from "./consensus.ts";
 * class Counter implements ConsensusStateMachine<number> {
 *   value = 0;
 *   apply(command: Uint8Array) {
 *     return this.value += command[0];
 *   }
 *   snapshot() {
 *     return new TextEncoder().encode(String(this.value));
 *   }
 *   restore(snapshot: Uint8Array) {
 *     this.value = Number(new TextDecoder().decode(snapshot));
 *   }
 * }
 * ```
 */
export interface ConsensusStateMachine<Result = unknown> {
  /** Applies one committed command. Must be deterministic. */
  apply(command: Uint8Array, position: LogPosition): Result;
  /** The whole state, as bytes, at the last applied command. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(snapshot: Uint8Array): void;
  /**
   * How `apply`'s results are kept in the deduplication table (and its
   * snapshots) for commands proposed with a client identity. Default:
   * `jsonResultCodec` (JSON values and `undefined`); use `bytesResultCodec`
   * for byte results, or your own for anything else. A result the codec
   * cannot encode fails its proposal with `RESULT_UNAVAILABLE`.
   */
  readonly resultCodec?: ResultCodec<Result>;
  /**
   * Answers a read-only command from the current state without changing it.
   * Optional; engines that answer reads without ordering them (PBFT's
   * read-only requests from outside clients) need it, and refuse such reads
   * without it.
   */
  query?(command: Uint8Array): Result;
}

/** A committed proposal. */
export interface Committed<Result = unknown> extends LogPosition {
  /** What the state machine's `apply` returned for it on this replica. */
  result: Result;
  /**
   * True when the proposal repeated a command of the same client and
   * sequence that had already executed: it was not applied again, and
   * `index`, `term` and `result` are those of the original execution.
   */
  duplicate?: boolean;
}

/**
 * Who sent a command: with it, the command executes at most once, however
 * often it is proposed (retries, other replicas, leader changes, engine
 * switches). Every replica keeps, per client, the highest sequence executed
 * and its result (the deduplication table, part of every snapshot):
 *
 * - a sequence above the client's latest executes, and its result replaces
 *   the cached one;
 * - the latest sequence again is not applied: the proposal resolves with the
 *   original position and result, and `duplicate: true`;
 * - a lower sequence is refused with `STALE_REQUEST` (not applied; its
 *   result is no longer kept);
 * - a client the table does not know must start at sequence 1: a higher one
 *   is refused with `UNKNOWN_CLIENT` (not applied), because the client was
 *   evicted from the table or its earlier commands never executed. Start
 *   again with a new client id.
 *
 * A client has one command in flight at a time (retrying it under the same
 * sequence) and numbers the next one higher; gaps are allowed. This is the
 * client table of Raft (Ongaro's thesis §6.3) and PBFT (the per-client
 * timestamp): `sequence` is PBFT's timestamp.
 */
export interface ClientRequest {
  /** The client: 1 to 128 characters, unique among clients (e.g. `crypto.randomUUID()`). */
  clientId: string;
  /** This command's number for the client: a safe integer from 1. A retry reuses it. */
  sequence: number;
}

/** Per-call limits. */
export interface ConsensusCallOptions {
  /** Give up after this long; the outcome of a proposal is then unknown (`CONSENSUS_TIMEOUT`). */
  timeoutMs?: number;
  /** Abort the wait (the outcome of a proposal is then unknown). */
  signal?: AbortSignal;
}

/**
 * Per-call limits of `propose`, and the command's client identity: give
 * both `clientId` and `sequence` (see {@linkcode ClientRequest}), or neither
 * (the command is then not deduplicated: every proposal of it applies).
 */
export interface ProposeOptions extends ConsensusCallOptions, Partial<ClientRequest> {}

/** Role of a replica. */
export type ConsensusRole = "leader" | "follower" | "candidate" | "pre-candidate";

/** What a consensus engine reports. */
export interface ConsensusStats {
  /** Engine name, e.g. `"raft"`. */
  engine: string;
  /** This replica. */
  nodeId: NodeId;
  /** This replica's role. */
  role: ConsensusRole;
  /** Current term (Raft) or view (PBFT). */
  term: number;
  /** The leader this replica follows, if known. */
  leaderId: NodeId | null;
  /** Voting members in the configuration this replica knows. */
  members: NodeId[];
  /** Highest index known committed. */
  commitIndex: number;
  /** Highest index applied to the state machine. */
  appliedIndex: number;
  /** Index covered by the latest snapshot. */
  snapshotIndex: number;
  /**
   * True when this replica takes part in replication now: as a follower it
   * recently accepted its leader's messages (not rejecting its log), as the
   * leader a quorum acknowledged it recently. Each engine states its exact
   * rule and time window (Raft: the election timeout).
   */
  healthy: boolean;
}

/**
 * A replicated log under one state machine.
 *
 * - `propose` resolves once the command is committed and applied here, with
 *   `apply`'s result; rejects with `NOT_LEADER` (carrying the leader hint) when
 *   this replica cannot take proposals, `PROPOSAL_DROPPED` when it definitely
 *   did not commit, and `CONSENSUS_TIMEOUT` (or `CONSENSUS_CLOSED` once
 *   proposed) when the outcome is unknown. With a client identity
 *   (`clientId`, `sequence`) a retry after an unknown outcome is safe: it
 *   executes at most once (see {@linkcode ClientRequest}); a bad identity is
 *   refused with `INVALID_ARGUMENT` naming the field.
 * - `read` is a linearizable read barrier: once it resolves, the local state
 *   machine reflects every command committed before `read` was called.
 */
export interface Consensus<Result = unknown> {
  /** Engine name, e.g. `"raft"`. */
  readonly name: string;
  /** Starts replicating (restores from storage first). */
  start(): Promise<void>;
  /** Proposes a command, with an optional client identity; see the interface notes for outcomes. */
  propose(command: Uint8Array, options?: ProposeOptions): Promise<Committed<Result>>;
  /** Waits until the local state machine may serve a linearizable read. */
  read(options?: ConsensusCallOptions): Promise<void>;
  /** Adds a voting member (one change at a time). */
  addMember(id: NodeId, address: string, options?: ConsensusCallOptions): Promise<void>;
  /** Removes a voting member (one change at a time). */
  removeMember(id: NodeId, options?: ConsensusCallOptions): Promise<void>;
  /** Hands leadership to `id`; resolves once `id` leads. */
  transferLeadership(id: NodeId, options?: ConsensusCallOptions): Promise<void>;
  /** Takes a snapshot now and compacts the log up to it. */
  snapshot(): Promise<LogPosition>;
  /** Role, term, leader, membership, indices, health. */
  stats(): ConsensusStats;
  /** Stops; pending calls reject with `CONSENSUS_CLOSED`. */
  close(): Promise<void>;
}

/**
 * A consensus failure. `NOT_LEADER` errors carry the leader this replica
 * knows, so a client can retry there.
 *
 * @example
 * ```ts
 * import { ConsensusError } from "./consensus.ts";
 * const error = new ConsensusError("NOT_LEADER", "node-2 is a follower", "node-1");
 * if (error.code === "NOT_LEADER" && error.leaderHint) console.log(`retry at ${error.leaderHint}`);
 * ```
 */
export class ConsensusError extends SwitchyardError {
  /** The leader this replica knows, for `NOT_LEADER`. */
  readonly leaderHint: NodeId | null;

  /**
   * Creates a consensus error. The client-identity codes: `STALE_REQUEST` (a
   * sequence below the client's latest executed one), `UNKNOWN_CLIENT` (a
   * client the table does not know, past sequence 1), `RESULT_UNAVAILABLE`
   * (the command executed, but its result cannot be given: the result codec
   * refused it, or `apply` threw when it executed).
   */
  constructor(
    code:
      | "NOT_LEADER"
      | "PROPOSAL_DROPPED"
      | "CONSENSUS_TIMEOUT"
      | "CONSENSUS_CLOSED"
      | "INVALID_ARGUMENT"
      | "STALE_REQUEST"
      | "UNKNOWN_CLIENT"
      | "RESULT_UNAVAILABLE",
    message: string,
    leaderHint: NodeId | null = null,
  ) {
    super(code, message);
    this.name = "ConsensusError";
    this.leaderHint = leaderHint;
  }
}

/**
 * What a consensus plugin gives the manager: a factory that binds the engine,
 * configured from the manifest, to the application's state machine.
 *
 * @example
 * ```ts
 * import type { ConsensusEngine, ConsensusStateMachine } from "./consensus.ts";
 * declare const engine: ConsensusEngine;
 * declare const machine: ConsensusStateMachine<string>;
 * const replica = engine.create(machine);
 * await replica.start();
 * ```
 */
export interface ConsensusEngine {
  /** Engine name, e.g. `"raft"`. */
  readonly name: string;
  /** A replica of `stateMachine`, not started yet. */
  create<Result>(stateMachine: ConsensusStateMachine<Result>): Consensus<Result>;
}
