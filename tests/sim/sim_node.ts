/**
 * One simulated Raft replica: the pure state machine, its durable state (in
 * memory, kept across crashes), the key-value state machine (lost on a crash
 * and rebuilt from the snapshot and the log), and the client requests it
 * holds. Every `Ready` is handled at once: persist, send, apply.
 *
 * @module
 */
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { Raft, type RaftConfig, type RaftDurableState } from "../../plugins/consensus-raft/raft.ts";
import { applyCompaction, applyUpdate } from "../../plugins/consensus-raft/storage.ts";
import type { Message } from "../../plugins/consensus-raft/types.ts";
import { RaftLog } from "../../plugins/consensus-raft/raft_log.ts";
import type { CandidateView, LogView, RaftInvariants } from "./invariants.ts";
import type { KvOperation } from "../../testing/linearizability.ts";
import { encodeSimKvCommand, type SimKvCommand, SimKvMachine } from "./sim_kv.ts";

/** A client's request: a get, or a write (put, cas, append) with its value. */
export type SimRequest = Pick<KvOperation, "kind" | "key" | "value" | "expected">;

/** What a client request gets back: a get's value, or the value a write's key held before it. */
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
  /** Told when this node becomes leader of a term (faults may aim at new leaders). */
  elected?(id: string, term: number): void;
  /** Told of every command any node applies (the history's unknown writes are settled with it). */
  applied?(command: SimKvCommand): void;
  /** Told when this node's commit index moved to `index` (for the commit-durability check). */
  committed?(id: string, index: number, term: number): void;
}

/** A snapshot is taken every this many applied entries. */
const SNAPSHOT_EVERY_ENTRIES = 25;
/** Readies handled for one input before the node counts as stuck (a loop that never settles). */
const MAX_READIES_PER_INPUT = 1000;

/** One replica. */
export class SimNode {
  /** Node id. */
  readonly id: string;
  /** The state machine; `null` while crashed. */
  raft: Raft | null = null;
  /** What survives a crash. */
  durable: RaftDurableState;
  /** The application state; rebuilt on restart. */
  kv: SimKvMachine;
  /** Snapshots taken. */
  snapshots = 0;
  readonly #config: Omit<RaftConfig, "id">;
  readonly #host: SimHost;
  #proposals = new Map<number, { term: number; reply: (reply: Reply) => void }>();
  #reads = new Map<number, { key: string; reply: (reply: Reply) => void }>();
  #confirmedReads: { index: number; requestId: number }[] = [];
  #nextReadId = 1;
  #ledTerm = -1;
  #reportedCommit = 0;

  /** Creates a stopped node with its initial durable state. */
  constructor(id: string, durable: RaftDurableState, config: Omit<RaftConfig, "id">, host: SimHost) {
    this.id = id;
    this.durable = durable;
    this.#config = config;
    this.#host = host;
    this.kv = this.#machine();
    this.view = liveView(this);
  }

  /** The log as it stands: the running state machine's, or while crashed the durable one it restarts with. */
  currentLog(): RaftLog {
    return this.raft?.log ?? (this.#durableLog ??= new RaftLog(this.durable.snapshot, this.durable.entries));
  }

  #machine(): SimKvMachine {
    return new SimKvMachine((command) => this.#host.applied?.(command));
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
    this.kv = this.#machine();
    this.kv.restore(snapshot.data);
    this.process();
  }

  /** This node's log and voters for the invariant checks, live (see {@linkcode SimNode.currentLog}). */
  readonly view: CandidateView;
  #durableLog: RaftLog | undefined;

  /** Loses everything volatile; pending requests get no answer. */
  crash(): void {
    this.raft = null;
    this.#durableLog = undefined;
    this.#reportedCommit = 0;
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

  /** A client's request, arriving at this node. */
  request(op: SimRequest, reply: (reply: Reply) => void): void {
    const raft = this.raft;
    if (!raft) return reply({ ok: false, definite: true, leaderHint: null, reason: "node down" });
    // What propose and readIndex would throw, without building an error (most requests that miss the leader).
    if (raft.role !== "leader") {
      return reply({ ok: false, definite: true, leaderHint: raft.leader, reason: "NOT_LEADER" });
    }
    try {
      if (op.kind !== "get") {
        const position = raft.propose(encodeSimKvCommand(commandOf(op)));
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
    for (let readies = 0; raft.hasReady(); readies++) {
      if (readies === MAX_READIES_PER_INPUT) {
        invariants.violations.push(`${this.id}: ready() still has work after ${readies} rounds; crashed it`);
        return this.crash();
      }
      const ready = raft.ready();
      invariants.entriesKept(this.id, raft.term, this.durable.entries, ready);
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
    if (raft.log.committed > this.#reportedCommit) {
      this.#reportedCommit = raft.log.committed;
      this.#host.committed?.(this.id, raft.log.committed, raft.log.term(raft.log.committed)!);
    }
    if (raft.role === "leader" && this.#ledTerm !== raft.term) {
      this.#ledTerm = raft.term;
      invariants.leaderElected(this.id, raft.term, logView(raft));
      this.#host.elected?.(this.id, raft.term);
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

/** The state-machine command of a client's write. */
export function commandOf(op: SimRequest): SimKvCommand {
  if (op.kind === "cas") return { op: "cas", key: op.key, expected: op.expected ?? null, value: op.value! };
  if (op.kind === "get") throw new TypeError("a get is not a command");
  return { op: op.kind, key: op.key, value: op.value! };
}

/** A node's log and voters as the commit-durability check reads them, always current. */
function liveView(node: SimNode): CandidateView {
  return {
    id: node.id,
    term: (index) => node.currentLog().term(index),
    get snapshotIndex() {
      return node.currentLog().snapshot.index;
    },
    get lastIndex() {
      return node.currentLog().lastIndex;
    },
    get lastTerm() {
      return node.currentLog().lastTerm;
    },
    get members() {
      const log = node.currentLog();
      return node.raft?.members ?? log.membersAt(log.lastIndex);
    },
  };
}

/** The parts of a Raft log the invariant checks read. */
export function logView(source: Raft | RaftLog): LogView {
  const log = source instanceof Raft ? source.log : source;
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
