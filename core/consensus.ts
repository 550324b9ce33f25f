/**
 * The consensus contract: propose a command and learn when it is committed
 * (or why not), read linearizably, observe committed commands in order through
 * the application's state machine, snapshot and restore, change membership,
 * and report leader and health. Every consensus plugin meets it and passes
 * the consensus compliance suite in `testing.ts`.
 *
 * @module
 */
import { SwitchyardError } from "./errors.ts";

/** Identifies a replica. */
export type NodeId = string;

/** Where a committed command sits in the replicated log. */
export interface LogPosition {
  /** Position in the log, from 1. */
  index: number;
  /** The leader term that wrote it. */
  term: number;
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
}

/** A committed proposal. */
export interface Committed<Result = unknown> extends LogPosition {
  /** What the state machine's `apply` returned for it on this replica. */
  result: Result;
}

/** Per-call limits. */
export interface ConsensusCallOptions {
  /** Give up after this long; the outcome of a proposal is then unknown (`CONSENSUS_TIMEOUT`). */
  timeoutMs?: number;
  /** Abort the wait (the outcome of a proposal is then unknown). */
  signal?: AbortSignal;
}

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
  /** True when this replica knows a leader that heard from a quorum recently. */
  healthy: boolean;
}

/**
 * A replicated log under one state machine.
 *
 * - `propose` resolves once the command is committed and applied here, with
 *   `apply`'s result; rejects with `NOT_LEADER` (carrying the leader hint) when
 *   this replica cannot take proposals, `PROPOSAL_DROPPED` when it definitely
 *   did not commit, and `CONSENSUS_TIMEOUT` when the outcome is unknown.
 * - `read` is a linearizable read barrier: once it resolves, the local state
 *   machine reflects every command committed before `read` was called.
 */
export interface Consensus<Result = unknown> {
  /** Engine name, e.g. `"raft"`. */
  readonly name: string;
  /** Starts replicating (restores from storage first). */
  start(): Promise<void>;
  /** Proposes a command; see the interface notes for outcomes. */
  propose(command: Uint8Array, options?: ConsensusCallOptions): Promise<Committed<Result>>;
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

  /** Creates a consensus error. */
  constructor(
    code: "NOT_LEADER" | "PROPOSAL_DROPPED" | "CONSENSUS_TIMEOUT" | "CONSENSUS_CLOSED" | "INVALID_ARGUMENT",
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
