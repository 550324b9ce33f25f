/**
 * Raft as a pure state machine, in the manner of etcd-io/raft: messages and
 * ticks go in through {@linkcode Raft.step} and {@linkcode Raft.tick};
 * {@linkcode Raft.ready} says what to persist, send and apply. No I/O, no
 * timers, no clock: a driver or a simulator does that.
 *
 * Implements leader election with randomized timeouts, pre-vote and
 * check-quorum; log replication with batching and pipelining; commit and
 * apply; snapshots and log compaction; single-server membership changes;
 * ReadIndex reads; leader transfer.
 *
 * @module
 */
import { ConsensusError, type NodeId } from "../../core/contracts/consensus.ts";
import { Progress } from "./progress.ts";
import { RaftLog } from "./raft_log.ts";
import type {
  AppendRequest,
  AppendResponse,
  Entry,
  EntryKind,
  HardState,
  InstallSnapshot,
  Message,
  ReadState,
  Ready,
  Role,
  Snapshot,
  VoteRequest,
} from "./types.ts";

/** Tunables of one Raft node. */
export interface RaftConfig {
  /** This node. */
  id: NodeId;
  /** Ticks without a leader before campaigning; the actual timeout is randomized in [this, 2 × this). */
  electionTicks: number;
  /** Ticks between a leader's heartbeats. */
  heartbeatTicks: number;
  /** Ask for pre-votes before disrupting the cluster with a new term. */
  preVote: boolean;
  /** A leader steps down when it has not heard from a quorum in an election timeout; followers ignore votes while they have a live leader. */
  checkQuorum: boolean;
  /** Appends in flight per follower while pipelining. */
  maxInflight: number;
  /** Payload bytes per append message. */
  maxBatchBytes: number;
  /** Source of randomness for election timeouts (a seeded one in simulations). */
  random: () => number;
}

/** What a node restarts from: its durable state. */
export interface RaftDurableState {
  /** Term, vote and commit. */
  hardState: HardState;
  /** The latest snapshot (index 0 with the initial members for a new cluster). */
  snapshot: Snapshot;
  /** Entries after the snapshot. */
  entries: Entry[];
}

/** Defaults: a 10-tick election timeout, heartbeats every tick, pre-vote and check-quorum on. */
export const DEFAULT_RAFT_CONFIG: Omit<RaftConfig, "id" | "random"> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxInflight: 256,
  maxBatchBytes: 1 << 20,
};

/**
 * The durable state of a brand-new node in a cluster of `members` (empty when
 * it will join an existing one). With `firstLeader` (one of `members`, the
 * same on every member) each member starts in term 1 having voted for it, so
 * that member may lead term 1 at once ({@linkcode Raft.leadFirstTerm}): a
 * new cluster, e.g. a new epoch of the adaptive engine, skips its first
 * election.
 */
export function initialState(members: NodeId[], firstLeader?: NodeId): RaftDurableState {
  if (firstLeader !== undefined && !members.includes(firstLeader)) {
    throw new ConsensusError("INVALID_ARGUMENT", `firstLeader ${firstLeader} is not a member`);
  }
  return {
    hardState: firstLeader === undefined
      ? { term: 0, vote: null, commit: 0 }
      : { term: 1, vote: firstLeader, commit: 0 },
    snapshot: { index: 0, term: 0, members: [...members], data: new Uint8Array() },
    entries: [],
  };
}

interface PendingRead {
  requestId: number;
  index: number;
  seq: number;
  acks: Set<NodeId>;
}

const EMPTY = new Uint8Array();
const encoder = new TextEncoder();

/**
 * One Raft node's state machine.
 *
 * @example
 * ```ts
 * import { Raft, initialState, DEFAULT_RAFT_CONFIG } from "./raft.ts";
 * const raft = new Raft({ ...DEFAULT_RAFT_CONFIG, id: "a", random: Math.random }, initialState(["a"]));
 * while (raft.role !== "leader") raft.tick();
 * const ready = raft.ready(); // persist ready.entries, send ready.messages, apply ready.committed
 * raft.advance(ready);
 * ```
 */
export class Raft {
  /** This node. */
  readonly id: NodeId;
  /** Current term. */
  term: number;
  /** Vote cast in `term`. */
  vote: NodeId | null;
  /** Known leader of `term`. */
  leader: NodeId | null = null;
  /** Current role. */
  role: Role = "follower";
  /** The log. */
  readonly log: RaftLog;
  /** Voters in force (the latest membership entry in the log, committed or not). */
  members: NodeId[];

  readonly #config: RaftConfig;
  #progress = new Map<NodeId, Progress>();
  #votes = new Map<NodeId, boolean>();
  #electionElapsed = 0;
  #heartbeatElapsed = 0;
  #randomizedElectionTimeout = 0;
  #leadTransferee: NodeId | null = null;
  #pendingMembershipIndex = 0;
  #membershipIndex: number;
  #readSeq = 0;
  #pendingReads: PendingRead[] = [];
  #readsAwaitingTermCommit: number[] = [];
  #outbox: Message[] = [];
  #readStates: ReadState[] = [];
  #droppedReads: number[] = [];
  #pendingSnapshot: Snapshot | undefined;
  #persistedHardState: HardState;
  #broadcastPending = false;

  /** Restores a node from its durable state. */
  constructor(config: RaftConfig, durable: RaftDurableState) {
    if (!(config.electionTicks > config.heartbeatTicks && config.heartbeatTicks > 0)) {
      throw new ConsensusError("INVALID_ARGUMENT", "electionTicks must be greater than heartbeatTicks > 0");
    }
    this.#config = config;
    this.id = config.id;
    const { hardState, snapshot, entries } = durable;
    this.log = new RaftLog(snapshot, entries);
    this.log.committed = Math.max(this.log.snapshot.index, Math.min(hardState.commit, this.log.lastIndex));
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.members = this.log.membersAt(this.log.lastIndex);
    this.#membershipIndex = this.log.lastMembershipIndex();
    this.#persistedHardState = this.hardState;
    this.#resetTimers();
  }

  /** The current hard state. */
  get hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** True when this node is a voter and may campaign. */
  get promotable(): boolean {
    return this.members.includes(this.id);
  }

  /** Index of the membership entry in force (the snapshot's index when the log holds none). */
  get membershipIndex(): number {
    return this.#membershipIndex;
  }

  /** The follower a leader transfer is heading to, if one is in progress. */
  get leadTransferee(): NodeId | null {
    return this.#leadTransferee;
  }

  /** The replication progress of a follower (leader only), for stats. */
  progressOf(id: NodeId): Readonly<Progress> | undefined {
    return this.#progress.get(id);
  }

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === "leader") this.#tickLeader();
    else this.#tickElection();
  }

  /** Proposes a command (leader only); returns where it was appended. */
  propose(data: Uint8Array): { index: number; term: number } {
    this.#assertCanPropose();
    return this.#appendLocal("command", data);
  }

  /** Proposes adding or removing one voter (leader only, one change at a time). */
  proposeMembership(
    change: { add: NodeId } | { remove: NodeId },
    addresses?: Record<NodeId, string>,
  ): { index: number; term: number } {
    this.#assertCanPropose();
    if (this.#pendingMembershipIndex > this.log.applied) {
      throw new ConsensusError("PROPOSAL_DROPPED", "another membership change is not applied yet");
    }
    if (this.log.term(this.log.committed) !== this.term) {
      throw new ConsensusError("PROPOSAL_DROPPED", "the leader has not committed an entry in its term yet; retry");
    }
    const next = "add" in change
      ? [...new Set([...this.members, change.add])]
      : this.members.filter((id) => id !== change.remove);
    if (next.length === this.members.length) {
      const what = "add" in change ? `${change.add} is already a member` : `${change.remove} is not a member`;
      throw new ConsensusError("INVALID_ARGUMENT", what);
    }
    if (next.length === 0) throw new ConsensusError("INVALID_ARGUMENT", "cannot remove the last member");
    const position = this.#appendLocal("membership", encoder.encode(JSON.stringify({ members: next, addresses })));
    this.#pendingMembershipIndex = position.index;
    return position;
  }

  /**
   * Asks for a linearizable read (leader only). Once a quorum confirms this
   * node still leads, a {@linkcode ReadState} with `requestId` comes out of
   * `ready()`; if leadership is lost first, `requestId` is in `droppedReads`.
   */
  readIndex(requestId: number): void {
    if (this.role !== "leader") {
      throw new ConsensusError("NOT_LEADER", `${this.id} is a ${this.role}`, this.leader);
    }
    if (this.log.term(this.log.committed) !== this.term) this.#readsAwaitingTermCommit.push(requestId);
    else this.#registerRead(requestId);
  }

  /**
   * Starts an election now, as if the election timeout had passed (a
   * pre-vote first when `preVote` is on, so a campaign that cannot win
   * disturbs nobody). Nothing happens unless this node is a follower that
   * may campaign (a campaign under way is not restarted). For a node the
   * cluster has designated to lead first (a new epoch of the adaptive
   * engine), rather than waiting out a timeout.
   */
  campaign(): void {
    if (!this.promotable || this.role !== "follower") return;
    this.#electionElapsed = 0;
    this.#campaign(this.#config.preVote ? "pre" : "real");
  }

  /**
   * A leader sends its heartbeats now, carrying its commit index, instead of
   * at the next heartbeat tick (the followers learn a commit without waiting
   * for more entries). Nothing happens on other nodes.
   */
  heartbeat(): void {
    if (this.role !== "leader") return;
    this.#heartbeatElapsed = 0;
    this.#broadcastHeartbeat();
  }

  /**
   * Becomes leader of term 1 at once, when every member's initial state
   * voted for this node in term 1 (`initialState(members, firstLeader)`) and
   * nothing is in its log yet. No other member can win term 1; the caller
   * must persist this first leadership's entries before sending any message
   * of it (a leader may otherwise send entries while its own write is under
   * way), so a node that restarts with an empty log never sent anything as
   * leader and may lead term 1 again. Returns whether it did.
   */
  leadFirstTerm(): boolean {
    const pristine = this.term === 1 && this.vote === this.id && this.log.lastIndex === 0 &&
      this.log.snapshot.index === 0;
    if (!pristine || this.role === "leader" || !this.promotable) return false;
    this.#becomeLeader();
    return true;
  }

  /** Hands leadership to `target` once it has caught up (leader only). */
  transferLeadership(target: NodeId): void {
    if (this.role !== "leader") {
      throw new ConsensusError("NOT_LEADER", `${this.id} is a ${this.role}`, this.leader);
    }
    if (target === this.id || target === this.#leadTransferee) return;
    if (!this.members.includes(target)) throw new ConsensusError("INVALID_ARGUMENT", `${target} is not a member`);
    this.#leadTransferee = target;
    this.#electionElapsed = 0;
    if (this.#progress.get(target)!.match === this.log.lastIndex) this.#sendTimeoutNow(target);
    else this.#sendAppend(target);
  }

  /** Compacts the log up to `index` (already applied), keeping `data` as the snapshot there. */
  compact(index: number, data: Uint8Array): Snapshot {
    if (index > this.log.applied || index <= this.log.snapshot.index) {
      throw new ConsensusError(
        "INVALID_ARGUMENT",
        `snapshot index ${index} must be in (${this.log.snapshot.index}, ${this.log.applied}]`,
      );
    }
    const snapshot: Snapshot = { index, term: this.log.term(index)!, members: this.log.membersAt(index), data };
    this.log.compact(snapshot);
    return snapshot;
  }

  /** Takes in one message from a peer. */
  step(message: Message): void {
    if (message.term > this.term) {
      if (message.type === "preVote" || message.type === "vote") {
        const inLease = this.#config.checkQuorum && this.leader !== null &&
          this.#electionElapsed < this.#config.electionTicks;
        if (!message.force && inLease) return;
      }
      if (message.type === "preVote" || (message.type === "preVoteResp" && message.granted)) {
        // A pre-vote does not change anyone's term.
      } else {
        const fromLeader = message.type === "append" || message.type === "heartbeat" || message.type === "snapshot";
        this.#becomeFollower(message.term, fromLeader ? message.from : null);
      }
    } else if (message.term < this.term) {
      if (message.type === "append" || message.type === "heartbeat") {
        // Tell a stale leader about the newer term so it steps down.
        this.#send({ type: "appendResp", to: message.from, index: 0, reject: false, rejectHint: 0 });
      } else if (message.type === "preVote") {
        this.#send({ type: "preVoteResp", to: message.from, granted: false });
      }
      return;
    }
    if (message.type === "preVote" || message.type === "vote") return this.#handleVote(message);
    if (this.role === "leader") this.#stepLeader(message);
    else if (this.role === "follower") this.#stepFollower(message);
    else this.#stepCandidate(message);
  }

  /** True when `ready()` has something to do. */
  hasReady(): boolean {
    if (this.#broadcastPending) return true;
    const hard = this.#persistedHardState;
    return this.#outbox.length > 0 || this.#readStates.length > 0 || this.#droppedReads.length > 0 ||
      this.#pendingSnapshot !== undefined || this.log.persisted < this.log.lastIndex ||
      this.log.committed > this.log.applied || hard.term !== this.term || hard.vote !== this.vote ||
      hard.commit !== this.log.committed;
  }

  /** What to persist, send and apply now; call {@linkcode Raft.advance} once done. */
  ready(): Ready {
    if (this.#broadcastPending) {
      this.#broadcastPending = false;
      this.#broadcastAppend();
    }
    const hard = this.#persistedHardState;
    const changed = hard.term !== this.term || hard.vote !== this.vote || hard.commit !== this.log.committed;
    const ready: Ready = {
      hardState: changed ? this.hardState : undefined,
      snapshot: this.#pendingSnapshot,
      entries: this.log.unpersisted(),
      committed: this.log.toApply(),
      messages: this.#outbox,
      readStates: this.#readStates,
      droppedReads: this.#droppedReads,
    };
    this.#outbox = [];
    this.#readStates = [];
    this.#droppedReads = [];
    return ready;
  }

  /** Records that `ready` was persisted, sent and applied. */
  advance(ready: Ready): void {
    if (ready.hardState) this.#persistedHardState = ready.hardState;
    if (ready.snapshot === this.#pendingSnapshot) this.#pendingSnapshot = undefined;
    const last = ready.entries.at(-1);
    if (last && this.log.term(last.index) === last.term) this.log.persisted = Math.max(this.log.persisted, last.index);
    const applied = ready.committed.at(-1);
    if (applied) this.log.applied = Math.max(this.log.applied, applied.index);
    if (this.role === "leader") {
      this.#progress.get(this.id)?.update(this.log.persisted);
      if (this.#maybeCommit()) this.#broadcastAppend();
    }
  }

  // ---- roles -------------------------------------------------------------

  #resetTimers(): void {
    this.#electionElapsed = 0;
    this.#heartbeatElapsed = 0;
    const { electionTicks } = this.#config;
    this.#randomizedElectionTimeout = electionTicks + Math.floor(this.#config.random() * electionTicks);
  }

  #reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
    }
    this.leader = null;
    this.#resetTimers();
    this.#votes.clear();
    this.#leadTransferee = null;
    if (this.role === "leader") {
      this.#droppedReads.push(...this.#pendingReads.map((read) => read.requestId), ...this.#readsAwaitingTermCommit);
      this.#pendingReads = [];
      this.#readsAwaitingTermCommit = [];
      this.#progress.clear();
      this.#broadcastPending = false;
    }
  }

  #becomeFollower(term: number, leader: NodeId | null): void {
    this.#reset(term);
    this.leader = leader;
    this.role = "follower";
  }

  #campaign(kind: "pre" | "real" | "transfer"): void {
    let voteTerm: number;
    if (kind === "pre") {
      this.#reset(this.term);
      this.role = "pre-candidate";
      voteTerm = this.term + 1;
    } else {
      this.#reset(this.term + 1);
      this.role = "candidate";
      this.vote = this.id;
      voteTerm = this.term;
    }
    this.#votes.set(this.id, true);
    if (this.#poll() === "won") return kind === "pre" ? this.#campaign("real") : this.#becomeLeader();
    for (const id of this.members) {
      if (id === this.id) continue;
      this.#send({
        type: kind === "pre" ? "preVote" : "vote",
        to: id,
        term: voteTerm,
        lastIndex: this.log.lastIndex,
        lastTerm: this.log.lastTerm,
        force: kind === "transfer",
      });
    }
  }

  #poll(): "won" | "lost" | "pending" {
    let granted = 0;
    let rejected = 0;
    for (const id of this.members) {
      const vote = this.#votes.get(id);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    const quorum = this.#quorum();
    if (granted >= quorum) return "won";
    if (rejected > this.members.length - quorum) return "lost";
    return "pending";
  }

  #becomeLeader(): void {
    this.#reset(this.term);
    this.role = "leader";
    this.leader = this.id;
    this.#progress = new Map();
    for (const id of new Set([...this.members, this.id])) this.#addProgress(id);
    this.#progress.get(this.id)!.update(this.log.persisted);
    // No membership change until everything from earlier terms is committed.
    this.#pendingMembershipIndex = this.log.lastIndex;
    this.#appendLocal("noop", EMPTY);
  }

  #addProgress(id: NodeId): void {
    if (!this.#progress.has(id)) this.#progress.set(id, new Progress(this.log.lastIndex + 1, this.#config.maxInflight));
  }

  #quorum(): number {
    return Math.floor(this.members.length / 2) + 1;
  }

  // ---- ticks -------------------------------------------------------------

  #tickElection(): void {
    this.#electionElapsed++;
    if (this.promotable && this.#electionElapsed >= this.#randomizedElectionTimeout) {
      this.#electionElapsed = 0;
      this.#campaign(this.#config.preVote ? "pre" : "real");
    }
  }

  #tickLeader(): void {
    this.#heartbeatElapsed++;
    this.#electionElapsed++;
    if (this.#electionElapsed >= this.#config.electionTicks) {
      this.#electionElapsed = 0;
      if (this.#config.checkQuorum && !this.#quorumActive()) return this.#becomeFollower(this.term, null);
      this.#leadTransferee = null;
    }
    if (this.#heartbeatElapsed >= this.#config.heartbeatTicks) {
      this.#heartbeatElapsed = 0;
      this.#broadcastHeartbeat();
    }
  }

  #quorumActive(): boolean {
    let active = 0;
    for (const id of this.members) {
      const progress = this.#progress.get(id);
      if (id === this.id || progress?.recentActive) active++;
      if (progress && id !== this.id) progress.recentActive = false;
    }
    return active >= this.#quorum();
  }

  // ---- votes -------------------------------------------------------------

  #handleVote(request: VoteRequest): void {
    const canVote = this.vote === request.from ||
      (this.vote === null && this.leader === null) ||
      (request.type === "preVote" && request.term > this.term);
    const responseType = request.type === "preVote" ? "preVoteResp" : "voteResp";
    if (canVote && this.log.isUpToDate(request.lastIndex, request.lastTerm)) {
      this.#send({ type: responseType, to: request.from, term: request.term, granted: true });
      if (request.type === "vote") {
        this.#electionElapsed = 0;
        this.vote = request.from;
      }
    } else {
      this.#send({ type: responseType, to: request.from, granted: false });
    }
  }

  #stepCandidate(message: Message): void {
    switch (message.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        this.#becomeFollower(this.term, message.from);
        return this.#stepFollower(message);
      case "preVoteResp":
      case "voteResp": {
        const expected = this.role === "pre-candidate" ? "preVoteResp" : "voteResp";
        if (message.type !== expected) return;
        this.#votes.set(message.from, message.granted);
        const outcome = this.#poll();
        if (outcome === "won") this.role === "pre-candidate" ? this.#campaign("real") : this.#becomeLeader();
        else if (outcome === "lost") this.#becomeFollower(this.term, null);
        return;
      }
    }
  }

  // ---- follower ----------------------------------------------------------

  #stepFollower(message: Message): void {
    switch (message.type) {
      case "append":
        this.#electionElapsed = 0;
        this.leader = message.from;
        return this.#handleAppend(message);
      case "heartbeat":
        this.#electionElapsed = 0;
        this.leader = message.from;
        this.#commitTo(Math.min(message.commit, this.log.lastIndex));
        this.#send({ type: "heartbeatResp", to: message.from, readSeq: message.readSeq });
        return;
      case "snapshot":
        this.#electionElapsed = 0;
        this.leader = message.from;
        return this.#handleSnapshot(message);
      case "timeoutNow":
        if (this.promotable) this.#campaign("transfer");
        return;
    }
  }

  #handleAppend(message: AppendRequest): void {
    const { log } = this;
    if (message.prevIndex < log.committed) {
      this.#send({ type: "appendResp", to: message.from, index: log.committed, reject: false, rejectHint: 0 });
      return;
    }
    if (!log.matchTerm(message.prevIndex, message.prevTerm)) {
      let hint = log.lastIndex;
      if (log.lastIndex >= message.prevIndex) {
        const conflictTerm = log.term(message.prevIndex);
        let first = message.prevIndex;
        while (first - 1 > log.committed && log.term(first - 1) === conflictTerm) first--;
        hint = first - 1;
      }
      this.#send({ type: "appendResp", to: message.from, index: message.prevIndex, reject: true, rejectHint: hint });
      return;
    }
    const changedFrom = log.append(message.entries);
    if (changedFrom !== undefined) this.#refreshMembership(changedFrom, message.entries);
    const lastNew = message.prevIndex + message.entries.length;
    this.#commitTo(Math.min(message.commit, lastNew));
    this.#send({ type: "appendResp", to: message.from, index: lastNew, reject: false, rejectHint: 0 });
  }

  #handleSnapshot(message: InstallSnapshot): void {
    const { snapshot } = message;
    const { log } = this;
    if (snapshot.index <= log.committed) {
      // Already have it.
    } else if (log.matchTerm(snapshot.index, snapshot.term)) {
      this.#commitTo(snapshot.index);
    } else {
      log.restore(snapshot);
      this.#pendingSnapshot = snapshot;
      this.members = [...snapshot.members];
      this.#membershipIndex = snapshot.index;
    }
    this.#send({ type: "appendResp", to: message.from, index: log.committed, reject: false, rejectHint: 0 });
  }

  #commitTo(index: number): void {
    if (index > this.log.committed) this.log.committed = index;
  }

  /** Re-reads the voter set after entries from `changedFrom` changed (a truncation may have dropped a membership entry). */
  #refreshMembership(changedFrom: number, appended: Entry[]): void {
    if (changedFrom > this.#membershipIndex && !appended.some((entry) => entry.kind === "membership")) return;
    this.members = this.log.membersAt(this.log.lastIndex);
    this.#membershipIndex = this.log.lastMembershipIndex();
    if (this.role === "leader") {
      for (const id of this.members) this.#addProgress(id);
      for (const id of this.#progress.keys()) {
        if (id !== this.id && !this.members.includes(id)) this.#progress.delete(id);
      }
    }
  }

  // ---- leader ------------------------------------------------------------

  #assertCanPropose(): void {
    if (this.role !== "leader") {
      throw new ConsensusError("NOT_LEADER", `${this.id} is a ${this.role}`, this.leader);
    }
    if (this.#leadTransferee !== null) {
      throw new ConsensusError("PROPOSAL_DROPPED", `leadership is being transferred to ${this.#leadTransferee}`);
    }
  }

  #appendLocal(kind: EntryKind, data: Uint8Array): { index: number; term: number } {
    const entry: Entry = { index: this.log.lastIndex + 1, term: this.term, kind, data };
    this.log.append([entry]);
    if (kind === "membership") this.#refreshMembership(entry.index, [entry]);
    this.#broadcastPending = true;
    return { index: entry.index, term: entry.term };
  }

  #stepLeader(message: Message): void {
    switch (message.type) {
      case "appendResp":
        return this.#handleAppendResponse(message);
      case "heartbeatResp": {
        const progress = this.#progress.get(message.from);
        if (!progress) return;
        progress.recentActive = true;
        progress.heartbeatAnswered();
        if (progress.match < this.log.lastIndex) this.#sendAppend(message.from);
        this.#acknowledgeReads(message.from, message.readSeq);
        return;
      }
    }
  }

  #handleAppendResponse(message: AppendResponse): void {
    const progress = this.#progress.get(message.from);
    if (!progress) return;
    progress.recentActive = true;
    if (message.reject) {
      if (message.index <= progress.match) return; // stale
      progress.probeFrom(Math.min(message.index, message.rejectHint + 1));
      this.#sendAppend(message.from);
      return;
    }
    const moved = progress.update(message.index);
    if (progress.state === "probe" && progress.match + 1 >= progress.next) progress.replicate();
    if (moved && this.#maybeCommit()) this.#broadcastAppend();
    else while (this.#sendAppend(message.from, false));
    if (message.from === this.#leadTransferee && progress.match === this.log.lastIndex) {
      this.#sendTimeoutNow(message.from);
    }
  }

  #maybeCommit(): boolean {
    const matches = this.members.map((id) => this.#progress.get(id)?.match ?? 0).sort((a, b) => b - a);
    const candidate = matches[this.#quorum() - 1];
    if (candidate <= this.log.committed || this.log.term(candidate) !== this.term) return false;
    this.log.committed = candidate;
    const awaiting = this.#readsAwaitingTermCommit;
    this.#readsAwaitingTermCommit = [];
    for (const requestId of awaiting) this.#registerRead(requestId);
    if (!this.members.includes(this.id) && this.log.committed >= this.#membershipIndex) {
      // Removed from the cluster: tell the others about the commit, then stand down.
      this.#broadcastAppend();
      this.#becomeFollower(this.term, null);
      return false;
    }
    return true;
  }

  /** Sends the follower what it is missing; returns true when a message with entries left. */
  #sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const progress = this.#progress.get(to);
    if (!progress || progress.paused) return false;
    const { log } = this;
    const prevIndex = progress.next - 1;
    const prevTerm = log.term(prevIndex);
    if (prevTerm === undefined) {
      this.#send({ type: "snapshot", to, snapshot: log.snapshot });
      progress.probeFrom(log.snapshot.index + 1);
      progress.probeSent = true;
      return false;
    }
    const entries = progress.next <= log.lastIndex ? log.slice(progress.next, this.#config.maxBatchBytes) : [];
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.#send({ type: "append", to, prevIndex, prevTerm, entries, commit: log.committed });
    progress.sent(prevIndex + entries.length, entries.length > 0);
    return entries.length > 0;
  }

  #broadcastAppend(): void {
    for (const id of this.#progress.keys()) if (id !== this.id) this.#sendAppend(id);
  }

  #broadcastHeartbeat(): void {
    for (const [id, progress] of this.#progress) {
      if (id === this.id) continue;
      const commit = Math.min(progress.match, this.log.committed);
      this.#send({ type: "heartbeat", to: id, commit, readSeq: this.#readSeq });
    }
  }

  #sendTimeoutNow(to: NodeId): void {
    this.#send({ type: "timeoutNow", to });
  }

  // ---- reads -------------------------------------------------------------

  #registerRead(requestId: number): void {
    const read: PendingRead = { requestId, index: this.log.committed, seq: ++this.#readSeq, acks: new Set([this.id]) };
    this.#pendingReads.push(read);
    if (!this.#releaseReads()) this.#broadcastHeartbeat();
  }

  #acknowledgeReads(from: NodeId, readSeq: number): void {
    for (const read of this.#pendingReads) if (read.seq <= readSeq) read.acks.add(from);
    this.#releaseReads();
  }

  /** Releases every read a quorum confirmed; returns true when none is left waiting. */
  #releaseReads(): boolean {
    const quorum = this.#quorum();
    let released = 0;
    for (let i = 0; i < this.#pendingReads.length; i++) {
      const acks = this.#pendingReads[i].acks;
      if (this.members.filter((id) => acks.has(id)).length >= quorum) released = i + 1;
    }
    for (const read of this.#pendingReads.splice(0, released)) {
      this.#readStates.push({ requestId: read.requestId, index: read.index });
    }
    return this.#pendingReads.length === 0;
  }

  // ---- output ------------------------------------------------------------

  #send(message: DistributiveOmit<Message, "from" | "term"> & { term?: number }): void {
    this.#outbox.push({ ...message, from: this.id, term: message.term ?? this.term } as Message);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
