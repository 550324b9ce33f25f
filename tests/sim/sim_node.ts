/**
 * One simulated Raft replica: the pure state machine, its durable state (in
 * memory, kept across crashes), the key-value state machine (lost on a crash
 * and rebuilt from the snapshot and the log), and the client requests it
 * holds. Every `Ready` is handled at once: persist, send, apply.
 *
 * @module
 */
import { ConsensusError } from "../../core/consensus.ts";
import { KvStateMachine } from "../../examples/kv/state_machine.ts";
import { Raft, type RaftConfig, type RaftDurableState } from "../../plugins/consensus-raft/raft.ts";
import { applyCompaction, applyUpdate } from "../../plugins/consensus-raft/storage.ts";
import type { Message } from "../../plugins/consensus-raft/types.ts";
import type { LogView, RaftInvariants } from "./invariants.ts";

/** What a client request gets back. */
export type Reply =
  | { ok: true; value: string | null }
  | { ok: false; definite: true; leaderHint: string | null; reason: string };

/** What a node needs from the simulation around it. */
export interface SimHost {
  /** Sends a message to its `to`. */
  send(message: Message): void;
  /** The invariant checker. */
  invariants: RaftInvariants;
  /** The current leaders with their terms and logs, for leader-completeness checks. */
  leaders(): Iterable<[string, number, LogView]>;
}

/** A snapshot is taken every this many applied entries. */
const SNAPSHOT_EVERY_ENTRIES = 25;

/** One replica. */
export class SimNode {
  /** Node id. */
  readonly id: string;
  /** The state machine; `null` while crashed. */
  raft: Raft | null = null;
  /** What survives a crash. */
  durable: RaftDurableState;
  /** The application state; rebuilt on restart. */
  kv = new KvStateMachine();
  /** Snapshots taken. */
  snapshots = 0;
  readonly #config: Omit<RaftConfig, "id">;
  readonly #host: SimHost;
  #proposals = new Map<number, { term: number; reply: (reply: Reply) => void }>();
  #reads = new Map<number, { key: string; reply: (reply: Reply) => void }>();
  #confirmedReads: { index: number; requestId: number }[] = [];
  #nextReadId = 1;
  #ledTerm = -1;

  /** Creates a stopped node with its initial durable state. */
  constructor(id: string, durable: RaftDurableState, config: Omit<RaftConfig, "id">, host: SimHost) {
    this.id = id;
    this.durable = durable;
    this.#config = config;
    this.#host = host;
  }

  /** True while running. */
  get alive(): boolean {
    return this.raft !== null;
  }

  /** Starts (or restarts) from the durable state. */
  start(): void {
    const { hardState, snapshot, entries } = this.durable;
    this.raft = new Raft({ ...this.#config, id: this.id }, {
      hardState: { ...hardState },
      snapshot,
      entries: [...entries],
    });
    this.kv = new KvStateMachine();
    this.kv.restore(snapshot.data);
    this.process();
  }

  /** Loses everything volatile; pending requests get no answer. */
  crash(): void {
    this.raft = null;
    this.#proposals.clear();
    this.#reads.clear();
    this.#confirmedReads = [];
    this.#ledTerm = -1;
  }

  /** Runs `action` on the state machine, then handles what it produced. */
  run(action: (raft: Raft) => void): void {
    if (!this.raft) return;
    try {
      action(this.raft);
    } catch (error) {
      this.#host.invariants.violations.push(`${this.id} threw: ${(error as Error).stack ?? error}`);
    }
    this.process();
  }

  /** A client's put or get, arriving at this node. */
  request(op: { kind: "put" | "get"; key: string; value: string | null }, reply: (reply: Reply) => void): void {
    const raft = this.raft;
    if (!raft) return reply({ ok: false, definite: true, leaderHint: null, reason: "node down" });
    try {
      if (op.kind === "put") {
        const command = new TextEncoder().encode(JSON.stringify({ op: "put", key: op.key, value: op.value }));
        const position = raft.propose(command);
        this.#proposals.set(position.index, { term: position.term, reply });
      } else {
        const requestId = this.#nextReadId++;
        this.#reads.set(requestId, { key: op.key, reply });
        raft.readIndex(requestId);
      }
    } catch (error) {
      if (!(error instanceof ConsensusError)) throw error;
      return reply({ ok: false, definite: true, leaderHint: error.leaderHint, reason: error.code });
    }
    this.process();
  }

  /** Handles every `Ready` until there is none. */
  process(): void {
    const raft = this.raft;
    if (!raft) return;
    const { invariants } = this.#host;
    while (raft.hasReady()) {
      const ready = raft.ready();
      applyUpdate(this.durable, ready);
      for (const entry of ready.entries) invariants.entryPersisted(this.id, entry, raft.log.term(entry.index - 1));
      for (const message of ready.messages) this.#host.send(message);
      if (ready.snapshot) this.kv.restore(ready.snapshot.data);
      for (const entry of ready.committed) {
        invariants.entryApplied(this.id, entry, raft.term, this.#host.leaders());
        const result = entry.kind === "command" ? this.kv.apply(entry.data) : null;
        const proposal = this.#proposals.get(entry.index);
        if (!proposal) continue;
        this.#proposals.delete(entry.index);
        if (proposal.term === entry.term) proposal.reply({ ok: true, value: result });
        else proposal.reply({ ok: false, definite: true, leaderHint: raft.leader, reason: "overwritten" });
      }
      this.#confirmedReads.push(...ready.readStates);
      for (const requestId of ready.droppedReads) {
        const read = this.#reads.get(requestId);
        this.#reads.delete(requestId);
        read?.reply({ ok: false, definite: true, leaderHint: raft.leader, reason: "leadership lost" });
      }
      raft.advance(ready);
      this.#maybeSnapshot(raft);
    }
    this.#serveReads(raft);
    if (raft.role === "leader" && this.#ledTerm !== raft.term) {
      this.#ledTerm = raft.term;
      invariants.leaderElected(this.id, raft.term, logView(raft));
    }
  }

  #maybeSnapshot(raft: Raft): void {
    if (raft.log.applied - raft.log.snapshot.index < SNAPSHOT_EVERY_ENTRIES) return;
    const snapshot = raft.compact(raft.log.applied, this.kv.snapshot());
    applyCompaction(this.durable, snapshot);
    this.snapshots++;
  }

  #serveReads(raft: Raft): void {
    const ready = this.#confirmedReads.filter((read) => read.index <= raft.log.applied);
    if (ready.length === 0) return;
    this.#confirmedReads = this.#confirmedReads.filter((read) => read.index > raft.log.applied);
    for (const { requestId } of ready) {
      const read = this.#reads.get(requestId);
      this.#reads.delete(requestId);
      read?.reply({ ok: true, value: this.kv.get(read.key) });
    }
  }
}

/** The parts of a Raft log the invariant checks read. */
export function logView(raft: Raft): LogView {
  const { log } = raft;
  return {
    term: (index) => log.term(index),
    get snapshotIndex() {
      return log.snapshot.index;
    },
    get lastIndex() {
      return log.lastIndex;
    },
  };
}
