/**
 * Binds the pure Raft state machine to a transport, a storage, a clock and
 * the application's state machine, and offers it as the core's
 * {@linkcode Consensus} contract.
 *
 * One loop does the work: it steps every queued input (messages, ticks,
 * proposals), then handles the Ready: persist (one sync for the whole batch),
 * send, apply, serve reads. Inputs that arrive during a sync wait for the
 * next turn, so load turns into larger batches rather than more syncs.
 *
 * A proposal's client identity travels inside its log entry (the core's
 * client-command envelope, in the entry's opaque `data`), and every replica
 * applies committed commands through the core's
 * {@linkcode DeduplicatingStateMachine}, whose client table is part of every
 * snapshot: a command executes at most once on every replica.
 *
 * Peer frames are sealed and opened by the peer-auth kit (HMAC-SHA-256,
 * replay protection) and decoded by the checking codec; each message must be
 * addressed to this node, come from its frame's authenticated sender, and
 * from a node this one accepts ({@linkcode RaftConsensus.acceptsSender}).
 * Everything else is dropped and counted per reason in the stats.
 *
 * @module
 */
import { InboundConnections } from "../consensus-kit/inbound.ts";
import { encodeProposal } from "../../core/contracts/client_command.ts";
import type { ClientTableLimits } from "../consensus-kit/client_table.ts";
import type { Clock, TimerId } from "../../core/util/clock.ts";
import {
  type Committed,
  type Consensus,
  type ConsensusCallOptions,
  ConsensusError,
  type ConsensusStateMachine,
  type ConsensusStats,
  type LogPosition,
  type NodeId,
  type ProposeOptions,
} from "../../core/contracts/consensus.ts";
import { DeduplicatingStateMachine, type DeduplicationStats } from "../consensus-kit/deduplicating_machine.ts";
import { type Logger, silentLogger } from "../../core/util/logger.ts";
import type { Transport, TransportListener } from "../../core/contracts/transport.ts";
import {
  MAX_NODE_ID_BYTES,
  PeerAuthenticator,
  type PeerKeys,
  REJECTION_REASONS,
  RejectionCounter,
  type RejectionReason,
} from "../peer-auth/mod.ts";
import { decodeMessages, encodeMessages } from "./codec.ts";
import { RaftHealth } from "./health.ts";
import { PeerSender } from "./peer_sender.ts";
import { DEFAULT_RAFT_CONFIG, initialState, Raft, type RaftConfig } from "./raft.ts";
import { membershipOf } from "./raft_log.ts";
import type { RaftStorage } from "./storage.ts";
import type { Entry, Message, Ready } from "./types.ts";

/** How a {@linkcode RaftConsensus} runs. */
export interface RaftConsensusOptions<Result> {
  /** This node. */
  id: NodeId;
  /** Address of every initial member, this node included (and of any node joining later). */
  peers: Record<NodeId, string>;
  /**
   * The member every member's initial state votes for in term 1 (the same on
   * every member, one of `peers`): that member leads term 1 at once instead
   * of waiting for an election (see `Raft.leadFirstTerm`). Only for a brand-new
   * log; a new epoch of the adaptive engine uses it.
   */
  firstLeader?: NodeId;
  /** Start outside the membership and wait to be added (`addMember` on the leader). */
  join?: boolean;
  /** Carries messages between nodes. */
  transport: Transport;
  /**
   * How peer frames are authenticated. `{ keys }` (e.g. `clusterKeys(secret)` from `plugins/peer-auth`) seals every
   * frame with HMAC-SHA-256 and refuses forged, redirected and replayed ones; `maxClockSkewMs` (default 250) bounds
   * the difference between the nodes' clocks (see the peer-auth guarantees); `startedAtMs` is the process's start when
   * the engine starts later than it under keys of its own (the peer-auth kit's `startedAtMs`). `"none"` sends and accepts frames
   * unauthenticated: anyone who can reach the port can forge messages (logged as a warning at start).
   */
  peerAuth: { keys: PeerKeys; maxClockSkewMs?: number; startedAtMs?: number } | "none";
  /** Durable storage: `FileWal` for real nodes, `MemoryStorage` in tests. */
  storage: RaftStorage;
  /** The application. */
  stateMachine: ConsensusStateMachine<Result>;
  /** Time source. */
  clock: Clock;
  /** Milliseconds per Raft tick (default 10). */
  tickMs?: number;
  /** Take a snapshot after this many applied entries (default 10,000). */
  snapshotEveryEntries?: number;
  /** Default limit of `propose`, `read` and membership calls (default 5,000 ms). */
  timeoutMs?: number;
  /** Raft tunables. */
  raft?: Partial<Omit<RaftConfig, "id">>;
  /** Bounds of the client deduplication table (defaults: 10,000 clients, 64 MiB); the same on every replica. */
  deduplication?: Partial<ClientTableLimits>;
  /** Where to log. */
  logger?: Logger;
}

/** Why a peer frame or message was dropped: the peer-auth kit's reasons, and the driver's own. */
export type PeerRejectionReason =
  | RejectionReason
  /** The frame's messages do not decode or fail the codec's checks (`FRAME_INVALID`). */
  | "invalid-message"
  /** A message claims another sender than the frame it came in. */
  | "sender-mismatch";

/** Every {@linkcode PeerRejectionReason}. */
export const PEER_REJECTION_REASONS: readonly PeerRejectionReason[] = [
  ...REJECTION_REASONS,
  "invalid-message",
  "sender-mismatch",
];

/**
 * Refusals after which the connection is closed: the peer sends what no
 * honest, correctly configured node sends. Replay-class refusals keep it open,
 * since an honest peer's frames can be late or early (after restarts).
 */
const CLOSING_REASONS = new Set<PeerRejectionReason>([
  "malformed",
  "wrong-recipient",
  "unknown-sender",
  "bad-mac",
  "invalid-message",
]);

/** The Raft driver's stats: the contract's, plus peer-message counters. */
export interface RaftConsensusStats extends ConsensusStats {
  /** Whether peer frames are authenticated (false only with `peerAuth: "none"`). */
  peerAuth: boolean;
  /**
   * Peer input dropped, per reason: frames for the kit's reasons and `invalid-message`; single messages for
   * `sender-mismatch`, and for `wrong-recipient` and `unknown-sender` when a message inside a frame fails them.
   */
  peerRejections: Record<PeerRejectionReason, number>;
  /** Outgoing batches dropped (peer down or too slow). */
  droppedBatches: number;
}

/** A proposal whose log index now holds another leader's entry: it will never commit. */
function overwritten(index: number): ConsensusError {
  return new ConsensusError("PROPOSAL_DROPPED", `index ${index} went to another leader`);
}

/** What a leader sends to replicate; it does not depend on the leader's own disk. */
const LEADER_MESSAGES = new Set<Message["type"]>(["append", "heartbeat", "snapshot", "timeoutNow"]);

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * A Raft replica behind the consensus contract.
 *
 * @example
 * ```ts
 * import { RaftConsensus, MemoryStorage } from "./mod.ts";
 * const node = new RaftConsensus({
 *   id: "a", peers: { a: "mem://a" }, transport, storage: new MemoryStorage(),
 *   stateMachine: myMachine, clock: new SystemClock(),
 * });
 * await node.start();
 * const { index, result } = await node.propose(new TextEncoder().encode("set x 1"));
 * ```
 */
export class RaftConsensus<Result = unknown> implements Consensus<Result> {
  /** Engine name. */
  readonly name = "raft";
  readonly #options: RaftConsensusOptions<Result>;
  readonly #addresses: Map<NodeId, string>;
  readonly #logger: Logger;
  readonly #machine: DeduplicatingStateMachine<Result>;
  readonly #rejections: RejectionCounter<PeerRejectionReason>;
  readonly #health: RaftHealth;
  #raft: Raft | undefined;
  /** This node leads its first term (leadFirstTerm) and has not saved that yet: its messages wait for the save. */
  #firstTermUnsaved = false;
  #auth: PeerAuthenticator | undefined;
  #sender: PeerSender;
  #listener: TransportListener | undefined;
  readonly #inbound: InboundConnections;
  #inbox: (() => void)[] = [];
  #pumping = false;
  #tickTimer: TimerId | undefined;
  #closed = false;
  #proposals = new Map<number, { term: number } & Waiter<Committed<Result>>>();
  #memberships = new Map<number, { term: number } & Waiter<void>>();
  #reads = new Map<number, Waiter<void>>();
  #confirmedReads: { index: number; requestId: number }[] = [];
  #transfers: { target: NodeId; waiter: Waiter<void> }[] = [];
  #nextReadId = 1;
  #idle: Promise<void> = Promise.resolve();
  #idleResolve: (() => void) | undefined;
  #loopError: Error | undefined;
  #senders: { members: NodeId[]; membershipIndex: number; settled: boolean; ids: Set<NodeId> } | undefined;

  /** Creates a stopped replica; call {@linkcode RaftConsensus.start}. */
  constructor(options: RaftConsensusOptions<Result>) {
    if (!options.peers[options.id]) {
      throw new ConsensusError("INVALID_ARGUMENT", `peers must include this node's own address (peers.${options.id})`);
    }
    for (const id of Object.keys(options.peers)) {
      const bytes = new TextEncoder().encode(id).byteLength;
      if (bytes === 0 || bytes > MAX_NODE_ID_BYTES) {
        throw new ConsensusError("INVALID_ARGUMENT", `peers: node id "${id}" must be 1 to 255 UTF-8 bytes`);
      }
    }
    const { peerAuth } = options;
    if (peerAuth !== "none" && typeof peerAuth?.keys?.keyFor !== "function") {
      throw new ConsensusError("INVALID_ARGUMENT", `peerAuth: give { keys } (e.g. clusterKeys(secret)), or "none"`);
    }
    this.#options = options;
    this.#addresses = new Map(Object.entries(options.peers));
    this.#logger = options.logger ?? silentLogger;
    this.#inbound = new InboundConnections({
      engine: "raft",
      receive: (frame, connection) => this.#receive(frame, connection.remoteAddress),
      closed: () => this.#closed,
      logger: this.#logger,
    });
    this.#machine = new DeduplicatingStateMachine(options.stateMachine, {
      ...options.deduplication,
      logger: this.#logger,
    });
    this.#rejections = new RejectionCounter(PEER_REJECTION_REASONS, {
      logger: this.#logger,
      clock: options.clock,
      subject: "raft peer input",
    });
    const electionTicks = options.raft?.electionTicks ?? DEFAULT_RAFT_CONFIG.electionTicks;
    this.#health = new RaftHealth(electionTicks * (options.tickMs ?? 10));
    const seal = peerAuth === "none" ? undefined : (to: NodeId, frame: Uint8Array) => this.#auth!.seal(to, frame);
    this.#sender = new PeerSender(options.transport, options.clock, (id) => this.#addresses.get(id), seal);
  }

  /** Restores from storage, listens, and starts ticking. */
  async start(): Promise<void> {
    const { id, storage, clock } = this.#options;
    let durable = await storage.load();
    if (!durable) {
      durable = this.#options.join
        ? initialState([])
        : initialState(Object.keys(this.#options.peers), this.#options.firstLeader);
      await storage.save({ snapshot: durable.snapshot, entries: [], hardState: durable.hardState });
    }
    if (durable.snapshot.data.byteLength > 0) this.#machine.restore(durable.snapshot.data);
    for (const entry of durable.entries) this.#learnAddresses(entry);
    this.#raft = new Raft({ ...DEFAULT_RAFT_CONFIG, random: Math.random, ...this.#options.raft, id }, durable);
    const { peerAuth } = this.#options;
    if (peerAuth === "none") {
      this.#logger.warn(
        'raft peer messages are NOT authenticated (peerAuth: "none"): anyone who can reach this node can forge them',
        { id },
      );
    } else {
      this.#auth = new PeerAuthenticator({
        self: id,
        keys: peerAuth.keys,
        clock,
        maxClockSkewMs: peerAuth.maxClockSkewMs,
        startedAtMs: peerAuth.startedAtMs,
        isPeer: (from) => this.acceptsSender(from),
      });
    }
    this.#listener = await this.#options.transport.listen(this.#options.peers[id]);
    void this.#inbound.accept(this.#listener);
    const tickMs = this.#options.tickMs ?? 10;
    const tick = () => {
      if (this.#closed) return;
      this.#enqueue((raft) => raft.tick());
      this.#tickTimer = clock.setTimeout(tick, tickMs);
    };
    this.#tickTimer = clock.setTimeout(tick, tickMs);
    this.#enqueue((raft) => {
      if (raft.leadFirstTerm()) this.#firstTermUnsaved = true;
    });
    this.#logger.info("raft node started", { id, term: durable.hardState.term, entries: durable.entries.length });
  }

  /** Proposes a command (on the leader), with an optional client identity that makes it execute at most once. */
  propose(command: Uint8Array, options?: ProposeOptions): Promise<Committed<Result>> {
    let data: Uint8Array;
    try {
      data = encodeProposal(command, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#call(options, (waiter) =>
      this.#enqueue((raft) => {
        const position = raft.propose(data);
        this.#proposals.set(position.index, { term: position.term, ...waiter });
      }, waiter.reject));
  }

  /** Linearizable read barrier (on the leader, by ReadIndex). */
  read(options?: ConsensusCallOptions): Promise<void> {
    return this.#call(options, (waiter) =>
      this.#enqueue((raft) => {
        const requestId = this.#nextReadId++;
        raft.readIndex(requestId); // throws NOT_LEADER before anything is recorded
        this.#reads.set(requestId, waiter);
      }, waiter.reject));
  }

  /** Adds a voter; resolves once the change is applied here. */
  addMember(id: NodeId, address: string, options?: ConsensusCallOptions): Promise<void> {
    this.#addresses.set(id, address);
    return this.#changeMembership({ add: id }, options, { [id]: address });
  }

  /** Removes a voter; resolves once the change is applied here. */
  removeMember(id: NodeId, options?: ConsensusCallOptions): Promise<void> {
    return this.#changeMembership({ remove: id }, options);
  }

  /**
   * Campaigns now instead of after an election timeout (see `Raft.campaign`):
   * for a node designated to lead first, e.g. in a new epoch of the adaptive
   * engine. Does nothing on a leader, before `start` or after `close`.
   */
  campaign(): void {
    if (this.#raft && !this.#closed) this.#enqueue((raft) => raft.campaign());
  }

  /**
   * On a leader, sends the followers its commit index now (see
   * `Raft.heartbeat`): the adaptive engine calls it when the leader applies
   * an epoch's seal, so the followers seal and switch without waiting a tick.
   */
  heartbeat(): void {
    if (this.#raft && !this.#closed) this.#enqueue((raft) => raft.heartbeat());
  }

  /** Hands leadership to `id`; resolves once this node sees `id` lead. */
  transferLeadership(id: NodeId, options?: ConsensusCallOptions): Promise<void> {
    return this.#call(options, (waiter) =>
      this.#enqueue((raft) => {
        if (raft.leader === id) return waiter.resolve();
        raft.transferLeadership(id);
        this.#transfers.push({ target: id, waiter });
      }, waiter.reject));
  }

  /** Snapshots the state machine now and compacts the log. */
  snapshot(): Promise<LogPosition> {
    return this.#call(undefined, (waiter) =>
      this.#enqueue((raft) => {
        const index = raft.log.applied;
        if (index === raft.log.snapshot.index) return waiter.resolve({ index, term: raft.log.snapshot.term });
        const snapshot = raft.compact(index, this.#machine.snapshot());
        this.#options.storage.compact(snapshot).then(
          () => waiter.resolve({ index, term: snapshot.term }),
          waiter.reject,
        );
      }, waiter.reject));
  }

  /**
   * Role, term, leader, membership, indices, health and peer counters.
   * `healthy`: a follower accepted its leader's heartbeat, append or snapshot
   * within the election timeout (`electionTicks × tickMs`) and did not reject
   * its latest append; a leader was acknowledged by a quorum within it
   * (`health.ts` has the exact rules).
   */
  stats(): RaftConsensusStats {
    const raft = this.#raft;
    const healthy = !this.#closed && !this.#loopError && raft !== undefined &&
      this.#health.healthy(raft, this.#options.clock.now());
    return {
      engine: "raft",
      nodeId: this.#options.id,
      role: raft?.role ?? "follower",
      term: raft?.term ?? 0,
      leaderId: raft?.leader ?? null,
      members: [...(raft?.members ?? [])],
      commitIndex: raft?.log.committed ?? 0,
      appliedIndex: raft?.log.applied ?? 0,
      snapshotIndex: raft?.log.snapshot.index ?? 0,
      healthy,
      peerAuth: this.#options.peerAuth !== "none",
      peerRejections: this.#rejections.counts(),
      droppedBatches: this.#sender.dropped,
    };
  }

  /** The client deduplication table's size and counters. */
  get deduplication(): DeduplicationStats {
    return this.#machine.stats();
  }

  /**
   * Whether messages from `id` are taken in: the voters in force, plus, while
   * the latest membership change is not committed, the voters before it (so a
   * leader that removes itself still reaches the others, and a node that
   * appended an uncommitted removal still hears the removed node if the change
   * is rolled back). A node that knows no voter set yet (it is joining) takes
   * any authenticated sender. Never itself.
   */
  acceptsSender(id: NodeId): boolean {
    const raft = this.#raft;
    if (!raft || id === this.#options.id) return false;
    const membershipIndex = raft.membershipIndex;
    const settled = raft.log.committed >= membershipIndex;
    let cached = this.#senders;
    if (
      !cached || cached.members !== raft.members || cached.membershipIndex !== membershipIndex ||
      cached.settled !== settled
    ) {
      const ids = new Set(raft.members);
      if (!settled) { for (const previous of raft.log.membersAt(membershipIndex - 1)) ids.add(previous); }
      cached = this.#senders = { members: raft.members, membershipIndex, settled, ids };
    }
    return cached.ids.size === 0 || cached.ids.has(id);
  }

  /**
   * Peer frames being sealed or opened right now (a pair's first key is
   * derived by WebCrypto, off the event loop): a test on a `ManualClock`
   * waits for 0 before advancing it.
   */
  get peerCryptoInFlight(): number {
    return this.#auth?.inFlight ?? 0;
  }

  /** Resolves once no peer frame is being sealed or opened (see {@linkcode RaftConsensus.peerCryptoInFlight}). */
  peerCryptoIdle(): Promise<void> {
    return this.#auth?.idle() ?? Promise.resolve();
  }

  /** Messages dropped on the way out (peer down or too slow). */
  get droppedBatches(): number {
    return this.#sender.dropped;
  }

  /** Stops ticking and listening; pending calls reject with `CONSENSUS_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tickTimer !== undefined) this.#options.clock.clearTimeout(this.#tickTimer);
    await this.#idle;
    await this.#sender.flush(); // what the last Ready sent still leaves, as it would before a sync send returned
    const closed = this.#closedError();
    for (const waiter of [...this.#proposals.values(), ...this.#memberships.values(), ...this.#reads.values()]) {
      waiter.reject(closed);
    }
    for (const { waiter } of this.#transfers) waiter.reject(closed);
    this.#proposals.clear();
    this.#memberships.clear();
    this.#reads.clear();
    this.#transfers = [];
    await this.#listener?.close();
    await this.#inbound.closeAll();
    await this.#sender.close();
    await this.#options.storage.close();
  }

  /** `CONSENSUS_CLOSED`, saying why when the node stopped itself. */
  #closedError(): ConsensusError {
    const id = this.#options.id;
    return new ConsensusError(
      "CONSENSUS_CLOSED",
      this.#loopError ? `raft node ${id} stopped itself: ${this.#loopError.message}` : `raft node ${id} is closed`,
    );
  }

  // ---- calls -------------------------------------------------------------

  #changeMembership(
    change: { add: NodeId } | { remove: NodeId },
    options: ConsensusCallOptions | undefined,
    addresses?: Record<NodeId, string>,
  ): Promise<void> {
    return this.#call(options, (waiter) =>
      this.#enqueue((raft) => {
        const position = raft.proposeMembership(change, addresses);
        this.#memberships.set(position.index, { term: position.term, ...waiter });
      }, waiter.reject));
  }

  /** Runs `start` with a waiter that settles once, bounded by the timeout and the signal. */
  #call<T>(options: ConsensusCallOptions | undefined, start: (waiter: Waiter<T>) => void): Promise<T> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (!this.#raft) {
      return Promise.reject(new ConsensusError("CONSENSUS_CLOSED", `raft node ${this.#options.id} is not started`));
    }
    const { clock } = this.#options;
    const timeoutMs = options?.timeoutMs ?? this.#options.timeoutMs ?? 5000;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = () => {
        settled = true;
        clock.clearTimeout(timer);
        options?.signal?.removeEventListener("abort", onAbort);
      };
      const waiter: Waiter<T> = {
        resolve: (value) => settled || (finish(), resolve(value)),
        reject: (error) => settled || (finish(), reject(error)),
      };
      const onAbort = () =>
        waiter.reject(
          options!.signal!.reason ??
            new ConsensusError("CONSENSUS_TIMEOUT", "the call was aborted; its outcome is unknown"),
        );
      const timer = clock.setTimeout(
        () =>
          waiter.reject(
            new ConsensusError("CONSENSUS_TIMEOUT", `no outcome within ${timeoutMs} ms; it may still commit`),
          ),
        timeoutMs,
      );
      options?.signal?.addEventListener("abort", onAbort, { once: true });
      start(waiter);
    });
  }

  // ---- the loop ----------------------------------------------------------

  /** Queues work on the state machine; `onError` gets what it throws. */
  #enqueue(work: (raft: Raft) => void, onError?: (error: Error) => void): void {
    if (this.#closed) {
      return onError?.(this.#closedError());
    }
    this.#inbox.push(() => {
      try {
        work(this.#raft!);
      } catch (error) {
        if (onError) onError(error as Error);
        else this.#logger.warn("raft input rejected", { error: String(error) });
      }
    });
    if (!this.#pumping) this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    this.#idle = new Promise((resolve) => this.#idleResolve = resolve);
    const raft = this.#raft!;
    try {
      while (this.#inbox.length > 0 || raft.hasReady()) {
        for (const work of this.#inbox.splice(0)) work();
        if (!raft.hasReady()) continue;
        await this.#handle(raft, raft.ready());
      }
    } catch (error) {
      // Fail-stop: the state machine has moved on past what is on disk (a write or sync that failed), and going on
      // could send what a restart would contradict (a vote, an acknowledgement). Restart it from its log.
      this.#loopError = error as Error;
      this.#logger.error("raft node stopped: its loop failed (restart it from its log once the cause is fixed)", {
        error: String(error),
      });
      void this.close();
    } finally {
      this.#pumping = false;
      this.#idleResolve?.();
    }
  }

  async #handle(raft: Raft, ready: Ready): Promise<void> {
    const { storage } = this.#options;
    for (const entry of ready.entries) this.#learnAddresses(entry);
    // A leader's replication messages may leave while its own disk writes (Raft thesis §10.2.1): the leader
    // counts itself for a commit only once `advance` records its entries as persisted. Everything else (votes,
    // acknowledgements) waits for the sync, because it promises what is on disk.
    // Except a first term's leadership (leadFirstTerm): nothing of it may leave before it is on disk.
    const early = this.#firstTermUnsaved
      ? []
      : ready.messages.filter((message) => LEADER_MESSAGES.has(message.type) && raft.role === "leader");
    const late = early.length === 0 ? ready.messages : ready.messages.filter((message) => !early.includes(message));
    this.#health.sent(raft, ready.messages, this.#options.clock.now());
    this.#send(early);
    if (ready.snapshot || ready.entries.length > 0 || ready.hardState) {
      await storage.save({ snapshot: ready.snapshot, entries: ready.entries, hardState: ready.hardState });
      this.#firstTermUnsaved = false;
    }
    this.#send(late);
    if (ready.snapshot) this.#machine.restore(ready.snapshot.data);
    for (const entry of ready.committed) this.#apply(entry);
    this.#confirmedReads.push(...ready.readStates);
    for (const requestId of ready.droppedReads) {
      this.#reads.get(requestId)?.reject(
        new ConsensusError("NOT_LEADER", "leadership was lost before the read was confirmed", raft.leader),
      );
      this.#reads.delete(requestId);
    }
    raft.advance(ready);
    this.#serveReads(raft);
    this.#settleTransfers(raft);
    await this.#maybeSnapshot(raft);
  }

  #send(messages: Message[]): void {
    const byPeer = new Map<NodeId, Message[]>();
    for (const message of messages) {
      if (!byPeer.has(message.to)) byPeer.set(message.to, []);
      byPeer.get(message.to)!.push(message);
    }
    for (const [to, batch] of byPeer) this.#sender.send(to, encodeMessages(batch));
  }

  #apply(entry: Entry): void {
    const position = { index: entry.index, term: entry.term };
    const proposal = this.#proposals.get(entry.index);
    const membership = this.#memberships.get(entry.index);
    this.#proposals.delete(entry.index);
    this.#memberships.delete(entry.index);
    // A waiter of another term lost its index to another leader's entry, whatever kind that entry is.
    if (membership?.term === entry.term) membership.resolve();
    else membership?.reject(overwritten(entry.index));
    if (proposal && proposal.term !== entry.term) proposal.reject(overwritten(entry.index));
    if (entry.kind !== "command") return;
    const outcome = this.#machine.apply(entry.data, position); // logs and counts its failures
    if (proposal?.term !== entry.term) return;
    if (outcome.ok) proposal.resolve(outcome.committed);
    else proposal.reject(outcome.error);
  }

  #serveReads(raft: Raft): void {
    if (this.#confirmedReads.length === 0) return;
    const applied = raft.log.applied;
    const ready = this.#confirmedReads.filter((read) => read.index <= applied);
    this.#confirmedReads = this.#confirmedReads.filter((read) => read.index > applied);
    for (const { requestId } of ready) {
      this.#reads.get(requestId)?.resolve();
      this.#reads.delete(requestId);
    }
  }

  #settleTransfers(raft: Raft): void {
    this.#transfers = this.#transfers.filter(({ target, waiter }) => {
      if (raft.leader !== target) return true;
      waiter.resolve();
      return false;
    });
  }

  async #maybeSnapshot(raft: Raft): Promise<void> {
    const every = this.#options.snapshotEveryEntries ?? 10_000;
    if (raft.log.applied - raft.log.snapshot.index < every) return;
    const snapshot = raft.compact(raft.log.applied, this.#machine.snapshot());
    await this.#options.storage.compact(snapshot);
  }

  #learnAddresses(entry: Entry): void {
    if (entry.kind !== "membership") return;
    for (const [id, address] of Object.entries(membershipOf(entry).addresses ?? {})) this.#addresses.set(id, address);
  }

  /** Opens, decodes and queues one frame's messages; false when the connection should be closed. */
  async #receive(frame: Uint8Array, remoteAddress: string): Promise<boolean> {
    let payload = frame;
    let sender: NodeId | undefined;
    if (this.#auth) {
      const opened = await this.#auth.open(frame);
      if (!opened.ok) {
        this.#rejections.record(opened.reason, { from: opened.from, remoteAddress, detail: opened.detail });
        return !CLOSING_REASONS.has(opened.reason);
      }
      payload = opened.payload;
      sender = opened.from;
    }
    let messages: Message[];
    try {
      messages = decodeMessages(payload);
    } catch (error) {
      this.#rejections.record("invalid-message", { from: sender, remoteAddress, error: String(error) });
      return false;
    }
    this.#enqueue((raft) => {
      const nowMs = this.#options.clock.now();
      for (const message of messages) {
        const reason = this.#screen(message, sender);
        if (reason) {
          this.#rejections.record(reason, { from: message.from, to: message.to, type: message.type, remoteAddress });
          continue;
        }
        this.#health.received(raft, message, nowMs);
        raft.step(message);
      }
    });
    return true;
  }

  /** Why a decoded message must not reach the state machine, if it must not. */
  #screen(message: Message, sender: NodeId | undefined): PeerRejectionReason | undefined {
    if (message.to !== this.#options.id) return "wrong-recipient";
    if (sender !== undefined && message.from !== sender) return "sender-mismatch";
    if (!this.acceptsSender(message.from)) return "unknown-sender";
    return undefined;
  }
}
