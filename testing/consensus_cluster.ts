/**
 * What the consensus suite runs against: the harness an engine's author
 * writes, the cluster it starts, and the recording state machine every
 * replica applies to.
 *
 * @module
 */
import type { Consensus, ConsensusStateMachine } from "../core/contracts/consensus.ts";

/** A running cluster made by a {@linkcode ConsensusHarness}. */
export interface ConsensusCluster {
  /** The replicas, in the order of the machines given. */
  replicas: Consensus<number>[];
  /** Lets `ms` of time pass (a ManualClock's advance, or a real wait). */
  advance(ms: number): Promise<void>;
  /**
   * Stops replica `index` as a crash would (keeping only its durable
   * storage) and starts it again with `machine`, replacing `replicas[index]`.
   * Needed by the case that checks a replica restored from a snapshot still
   * deduplicates; without it that case fails, saying so.
   */
  restart?(index: number, machine: ConsensusStateMachine<number>): Promise<void>;
  /** Stops every replica and frees what the cluster holds. */
  close(): Promise<void>;
}

/** Builds clusters of the engine under test. */
export interface ConsensusHarness {
  /** Starts one replica per machine, connected to each other. */
  cluster(machines: ConsensusStateMachine<number>[]): Promise<ConsensusCluster>;
  /** Time steps the suite advances by while it waits (default 10 ms). */
  stepMs?: number;
  /** Longest the suite waits for anything, in the harness's time (default 10,000 ms). */
  patienceMs?: number;
  /**
   * True for an engine where every replica takes proposals (PBFT): the
   * suite proposes at followers too, instead of expecting `NOT_LEADER`, and
   * retries "elsewhere" at another replica instead of after a leadership
   * transfer. Default false (a leader takes proposals, as in Raft).
   */
  proposalsAnywhere?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A state machine that records every command; `apply` returns how many it has seen. */
export class RecordingMachine implements ConsensusStateMachine<number> {
  /** Commands applied, in order. */
  commands: string[] = [];
  /** Records the command. */
  apply(command: Uint8Array): number {
    this.commands.push(decoder.decode(command));
    return this.commands.length;
  }
  /** The list as JSON. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify(this.commands));
  }
  /** Replaces the list. */
  restore(snapshot: Uint8Array): void {
    this.commands = JSON.parse(decoder.decode(snapshot));
  }
}
