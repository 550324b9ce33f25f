/**
 * A replicated key-value store on the consensus contract: writes are
 * proposals, reads wait for a linearizable read barrier and then look at the
 * local map. Works on any engine (Raft now, PBFT later).
 *
 * @module
 */
import type { Committed, Consensus, ConsensusCallOptions, ConsensusEngine } from "../../core/consensus.ts";
import { encodeKvCommand, KvStateMachine } from "./state_machine.ts";

/**
 * The store.
 *
 * @example
 * ```ts ignore
 * const store = new KvStore(engine);
 * await store.start();
 * await store.put("color", "green");
 * await store.get("color"); // "green"
 * ```
 */
export class KvStore {
  /** The local replica of the map. */
  readonly machine = new KvStateMachine();
  /** The consensus replica underneath. */
  readonly consensus: Consensus<string | null>;

  /** A store replicated by `engine`. */
  constructor(engine: ConsensusEngine) {
    this.consensus = engine.create(this.machine);
  }

  /** Starts the replica. */
  start(): Promise<void> {
    return this.consensus.start();
  }

  /** Writes `value` under `key`; resolves with the previous value once committed. */
  put(key: string, value: string, options?: ConsensusCallOptions): Promise<Committed<string | null>> {
    return this.consensus.propose(encodeKvCommand({ op: "put", key, value }), options);
  }

  /** Deletes `key`; resolves with the previous value once committed. */
  delete(key: string, options?: ConsensusCallOptions): Promise<Committed<string | null>> {
    return this.consensus.propose(encodeKvCommand({ op: "delete", key }), options);
  }

  /** Reads `key` linearizably. */
  async get(key: string, options?: ConsensusCallOptions): Promise<string | null> {
    await this.consensus.read(options);
    return this.machine.get(key);
  }

  /** Stops the replica. */
  close(): Promise<void> {
    return this.consensus.close();
  }
}
