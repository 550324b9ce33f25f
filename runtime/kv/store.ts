/**
 * A replicated key-value store on the consensus contract: writes are
 * proposals, reads wait for a linearizable read barrier and then look at the
 * local map. Works on any engine: Raft, PBFT, the adaptive engine.
 *
 * Every write carries a client identity: the caller's (`clientId` and
 * `sequence` in the options, to retry a write safely: it executes at most
 * once) or else the store's own (a random client id and the next sequence).
 * When the cluster does not know the store's own id (its first writes never
 * executed, or it was evicted), the write is refused unexecuted with
 * `UNKNOWN_CLIENT`; the store then takes a new id and proposes it once more.
 *
 * @module
 */
import {
  type Committed,
  type Consensus,
  type ConsensusCallOptions,
  type ConsensusEngine,
  ConsensusError,
  type ProposeOptions,
} from "../../mod.ts";
import { encodeKvCommand, type KvCommand, KvStateMachine } from "./state_machine.ts";

/**
 * A replicated map of strings over a consensus engine: every write a
 * proposal carrying a client identity (executed at most once), every read
 * behind a linearizable read barrier.
 *
 * @example
 * ```ts ignore
 * const store = new KvStore(engine);
 * await store.start();
 * await store.put("color", "green");
 * await store.get("color"); // "green"
 * // A write retried under the same identity executes once:
 * const identity = { clientId: "importer-1", sequence: 1 };
 * await store.append("log", "a,", identity).catch(() => store.append("log", "a,", identity));
 * ```
 */
export class KvStore {
  /** The local replica of the map. */
  readonly machine: KvStateMachine = new KvStateMachine();
  /** The consensus replica underneath. */
  readonly consensus: Consensus<string | null>;
  #clientId: string = crypto.randomUUID();
  #sequence = 0;

  /** A store replicated by `engine`. */
  constructor(engine: ConsensusEngine) {
    this.consensus = engine.create(this.machine);
  }

  /** The client id of writes proposed without one. */
  get clientId(): string {
    return this.#clientId;
  }

  /** Starts the replica. */
  start(): Promise<void> {
    return this.consensus.start();
  }

  /** Writes `value` under `key`; resolves with the previous value once committed. */
  put(key: string, value: string, options?: ProposeOptions): Promise<Committed<string | null>> {
    return this.#propose({ op: "put", key, value }, options);
  }

  /** Appends `suffix` to the value of `key`; resolves with the previous value once committed. */
  append(key: string, suffix: string, options?: ProposeOptions): Promise<Committed<string | null>> {
    return this.#propose({ op: "append", key, value: suffix }, options);
  }

  /** Deletes `key`; resolves with the previous value once committed. */
  delete(key: string, options?: ProposeOptions): Promise<Committed<string | null>> {
    return this.#propose({ op: "delete", key }, options);
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

  async #propose(command: KvCommand, options: ProposeOptions = {}): Promise<Committed<string | null>> {
    const bytes = encodeKvCommand(command);
    if (options.clientId !== undefined || options.sequence !== undefined) return this.consensus.propose(bytes, options);
    for (let attempt = 1;; attempt++) {
      const clientId = this.#clientId;
      try {
        return await this.consensus.propose(bytes, { ...options, clientId, sequence: ++this.#sequence });
      } catch (error) {
        if (!(error instanceof ConsensusError && error.code === "UNKNOWN_CLIENT") || attempt === 2) throw error;
        if (this.#clientId === clientId) [this.#clientId, this.#sequence] = [crypto.randomUUID(), 0];
      }
    }
  }
}
