/**
 * Binds the pure PBFT state machine to a transport, a storage, a clock and
 * the application's state machine, behind the core's consensus contract.
 *
 * One loop does the work, as in the Raft driver: it steps every queued
 * input (messages, ticks, this replica's requests), then handles the Ready:
 * persist (one sync for the whole step, none when all it holds may wait for
 * the next, see {@linkcode isDeferrable}: a write costs each replica one
 * sync, its commit's; a rewrite after a stable checkpoint), then send, then
 * report executions to the callers waiting for them. Inputs that arrive
 * during a sync wait for the next turn, so load turns into larger batches
 * rather than more syncs. A write that fails stops the replica (fail-stop).
 *
 * **Frames.** Between replicas every frame is sealed by the peer-auth kit
 * (HMAC-SHA-256 under the pairwise key of the two replicas, with replay
 * protection); a frame that does not open is dropped and counted. Outside
 * clients have no channel keys: their frames carry only requests, which
 * their signatures protect, and the replies they get are signed by each
 * replica. The first byte of a frame says which kind it is.
 *
 * **Proposals.** Any replica takes proposals (there is no leader to find):
 * its embedded client bundles what callers proposed meanwhile into a
 * request on one of a few lanes (each lane a PBFT client with one request
 * outstanding), signs it, and resolves each caller once the request has
 * executed here, with what the application returned. A request that gets no
 * answer is sent again to every replica, so that all of them watch the
 * primary. At the primary, calls made while it cannot order another batch
 * wait and start the next batch in one request. A linearizable `read()`
 * orders an empty operation and waits for it to execute here.
 *
 * @module
 */
import { InboundConnections } from "../consensus-kit/inbound.ts";
import { clientRequestOf, encodeClientCommand } from "../../core/contracts/client_command.ts";
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
import type { ApplyOutcome } from "../consensus-kit/deduplicating_machine.ts";
import { type Logger, silentLogger } from "../../core/util/logger.ts";
import { jsonResultCodec, type ResultCodec } from "../../core/contracts/result_codec.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { PeerSender } from "../consensus-raft/peer_sender.ts";
import {
  PeerAuthenticator,
  type PeerKeys,
  REJECTION_REASONS,
  RejectionCounter,
  type RejectionReason,
} from "../peer-auth/mod.ts";
import { decodeMessages, encodeMessages, requestSigningBytes } from "./codec.ts";
import type { Signer, Verifier } from "./crypto.ts";
import { DEFAULT_PBFT_CONFIG, Pbft, type PbftConfig, type PbftStats } from "./pbft.ts";
import { decodeOutcome, PbftService } from "./service.ts";
import type { PbftStorage } from "./storage.ts";
import type { DurableRecord, Execution, MessageBody, Outgoing, PbftReady, Request } from "./types.ts";

/** First byte of a frame between replicas (sealed). */
const PEER_FRAME = 1;
/** First byte of a frame to or from an outside client (not sealed). */
const CLIENT_FRAME = 2;
/** How long a primary holds its callers' writes for its next batch before it makes them requests anyway. */
const MAX_HOLD_MS = 100;
/** Outside clients whose connection is remembered for replies, at most. */
const MAX_CLIENT_CONNECTIONS = 10_000;

/** How a {@linkcode PbftConsensus} runs. */
export interface PbftConsensusOptions<Result> {
  /** This replica. */
  id: NodeId;
  /** Transport address of every replica, this one included. */
  peers: Record<NodeId, string>;
  /** Carries frames. */
  transport: Transport;
  /** Durable records: `FilePbftStorage` for real replicas, `MemoryPbftStorage` in tests. */
  storage: PbftStorage;
  /** The application. */
  stateMachine: ConsensusStateMachine<Result>;
  /** Time source (also the wall clock of the channel's replay protection). */
  clock: Clock;
  /** Signs as this replica. */
  signer: Signer;
  /** Checks the members' and outside clients' signatures. */
  verifier: Verifier;
  /** Pairwise channel keys (`replicaKeys(...).channel`). */
  channelKeys: PeerKeys;
  /** Largest clock difference between replicas the channel allows, ms (default 250). */
  maxClockSkewMs?: number;
  /** The process's start, when the replica starts later than it under channel keys of its own (the peer-auth kit's `startedAtMs`). */
  channelStartedAtMs?: number;
  /** Milliseconds per PBFT tick (default 10). */
  tickMs?: number;
  /** Default limit of `propose` and `read` (default 5,000 ms). */
  timeoutMs?: number;
  /** Requests this replica keeps outstanding at once (default 8). */
  lanes?: number;
  /** Operations bundled in one request at most (default 256). */
  maxOperationsPerRequest?: number;
  /** Send an unanswered request again to every replica after this long (default 500 ms). */
  retransmitMs?: number;
  /** Protocol tunables. */
  pbft?: Partial<Omit<PbftConfig, "id" | "members" | "signer" | "verifier" | "service">>;
  /** Limits of the client tables (the same on every replica). */
  deduplication?: Partial<ClientTableLimits>;
  /** Where to log. */
  logger?: Logger;
  /**
   * Rewrites what leaves for each receiver: for fault injection only
   * (`equivocatingFilter` makes this replica Byzantine). Leave unset.
   */
  outgoing?: (to: NodeId, messages: MessageBody[]) => MessageBody[];
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

interface QueuedOperation {
  operation: Uint8Array;
  waiter: Waiter<ApplyOutcome<unknown>>;
  settled: boolean;
  /** When the caller gives up, by the clock. */
  deadlineMs: number;
  timeoutMs: number;
  /** When it was proposed, by the clock. */
  queuedAtMs: number;
}

interface Lane {
  client: string;
  sequence: number;
  outstanding?: { request: Request; operations: QueuedOperation[]; sentAtMs: number };
}

/** Why a frame was dropped: the channel's reasons, or one of these. */
export type PbftDropReason = RejectionReason | "malformed" | "client-not-request";

const DROP_REASONS: readonly PbftDropReason[] = [...REJECTION_REASONS, "malformed", "client-not-request"];

/** Held-back records written before this many more are held back (a replica that never commits again). */
const MAX_DEFERRED_RECORDS = 4096;

/**
 * Records a crash may lose without harm, so they need no sync of their own and
 * go out with the next record that does:
 *
 * - pre-prepares and prepares, this replica's own among them: a prepared
 *   certificate is needed on disk only once this replica commits on it, or
 *   reports it in a view change, and both of those steps persist a record of
 *   their own, synced with the held-back ones before anything is sent; a
 *   restarted replica sits out the view it crashed in (`pbft.ts`), so one it
 *   sent and forgot can never be contradicted;
 * - a batch's execution (it committed at a quorum; after a crash it is
 *   learned again from the others).
 *
 * Commits, views, view changes, new views and checkpoints are synced before
 * anything that relies on them leaves.
 */
export function isDeferrable(record: DurableRecord): boolean {
  return record.kind === "committed" || record.kind === "prepare" || record.kind === "prePrepare";
}

/**
 * Whether a step's executions may be reported to local callers before the
 * step is synced: not when it compacts the log, nor when it carries this
 * replica's own commit (the only commits a replica records), which may be
 * one of the 2f + 1 its executions rest on.
 */
export function reportsBeforeSync(ready: Pick<PbftReady, "persist" | "compact">): boolean {
  return !ready.compact && !ready.persist.some((record) => record.kind === "commit");
}

/**
 * A PBFT replica behind the consensus contract.
 *
 * @example
 * ```ts ignore
 * import { PbftConsensus, MemoryPbftStorage, replicaKeys } from "./mod.ts";
 * const keys = await replicaKeys("a", secret, identities);
 * const replica = new PbftConsensus({
 *   id: "a", peers, transport, storage: new MemoryPbftStorage(), stateMachine, clock,
 *   signer: keys.signer, verifier: keys.verifier, channelKeys: keys.channel,
 * });
 * await replica.start();
 * const { result } = await replica.propose(new TextEncoder().encode("set x 1"));
 * ```
 */
export class PbftConsensus<Result = unknown> implements Consensus<Result> {
  /** Engine name. */
  readonly name = "pbft";
  readonly #options: PbftConsensusOptions<Result>;
  readonly #logger: Logger;
  readonly #codec: ResultCodec<Result>;
  readonly #members: NodeId[];
  readonly #auth: PeerAuthenticator;
  readonly #sender: PeerSender;
  #machine: Pbft | undefined;
  #service: PbftService<Result> | undefined;
  #listener: TransportListener | undefined;
  readonly #inbound: InboundConnections;
  #clients = new Map<string, TransportConnection>();
  #inbox: ((machine: Pbft) => void)[] = [];
  #pumping = false;
  /** Records held back until the next sync (see {@linkcode isDeferrable}). */
  #deferred: DurableRecord[] = [];
  /** Local snapshots asked for, written with the next step (see #handle). */
  #localSnapshots: { record: DurableRecord; resolve(): void; reject(error: unknown): void }[] = [];
  #tickTimer: TimerId | undefined;
  #closed = false;
  #lanes: Lane[] = [];
  #queue: QueuedOperation[] = [];
  #lastHeard = new Map<NodeId, number>();
  #stateTransfersSeen = 0;
  #snapshotOperations = 0;
  readonly #drops: RejectionCounter<PbftDropReason>;
  #idle: Promise<void> = Promise.resolve();
  #idleResolve: (() => void) | undefined;
  /** Why the replica stopped itself (a failed write), if it did. */
  #fatal: unknown;

  /** Creates a stopped replica; call {@linkcode PbftConsensus.start}. */
  constructor(options: PbftConsensusOptions<Result>) {
    if (!options.peers[options.id]) {
      throw new ConsensusError(
        "INVALID_ARGUMENT",
        `peers must include this replica's own address (peers.${options.id})`,
      );
    }
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#inbound = new InboundConnections({
      engine: "pbft",
      receive: (frame, connection) => this.#receive(frame, connection),
      closed: () => this.#closed,
      logger: this.#logger,
    });
    this.#codec = options.stateMachine.resultCodec ?? (jsonResultCodec as ResultCodec<Result>);
    this.#members = Object.keys(options.peers);
    const isPeer = (id: string) => id !== options.id && this.#members.includes(id);
    this.#auth = new PeerAuthenticator({
      self: options.id,
      keys: options.channelKeys,
      clock: options.clock,
      isPeer,
      maxClockSkewMs: options.maxClockSkewMs,
      startedAtMs: options.channelStartedAtMs,
    });
    this.#drops = new RejectionCounter(DROP_REASONS, {
      logger: this.#logger,
      clock: options.clock,
      subject: "pbft frame",
    });
    this.#sender = new PeerSender(
      options.transport,
      options.clock,
      (id) => options.peers[id],
      async (to, frame) => withKind(PEER_FRAME, await this.#auth.seal(to, frame)),
    );
  }

  // ---- the contract -----------------------------------------------------------

  /** Restores from storage, listens, and starts ticking. */
  async start(): Promise<void> {
    if (this.#machine) return;
    const options = this.#options;
    const session = [...crypto.getRandomValues(new Uint8Array(6))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const laneCount = options.lanes ?? 8;
    this.#lanes = Array.from(
      { length: laneCount },
      (_, i) => ({ client: `${options.id}#${session}.${i}`, sequence: 0 }),
    );
    const laneClients = new Set(this.#lanes.map((lane) => lane.client));
    this.#service = new PbftService(options.stateMachine, {
      ...options.deduplication,
      isLocal: (client) => laneClients.has(client),
      logger: this.#logger,
    });
    const records = await options.storage.load();
    this.#machine = new Pbft({
      ...DEFAULT_PBFT_CONFIG,
      ...options.pbft,
      id: options.id,
      members: this.#members,
      signer: options.signer,
      verifier: options.verifier,
      service: this.#service,
    }, records);
    this.#listener = await options.transport.listen(options.peers[options.id]);
    void this.#inbound.accept(this.#listener);
    this.#scheduleTick();
    this.#kick();
  }

  /** Proposes a command at this replica; resolves once it executed here. */
  propose(command: Uint8Array, options?: ProposeOptions): Promise<Committed<Result>> {
    let operation: Uint8Array;
    try {
      operation = encodeClientCommand(command, clientRequestOf(options));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#submit(operation, options).then((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.committed as Committed<Result>;
    });
  }

  /** Orders an empty operation and waits for it to execute here: every earlier commit is then applied. */
  async read(options?: ConsensusCallOptions): Promise<void> {
    const outcome = await this.#submit(new Uint8Array(), options);
    if (!outcome.ok) throw outcome.error;
  }

  /** Refused: PBFT's replicas are fixed by configuration. */
  addMember(): Promise<void> {
    return Promise.reject(fixedMembership());
  }

  /** Refused: PBFT's replicas are fixed by configuration. */
  removeMember(): Promise<void> {
    return Promise.reject(fixedMembership());
  }

  /** Refused: the primary of each view is fixed (view mod n); a view change moves it. */
  transferLeadership(): Promise<void> {
    return Promise.reject(
      new ConsensusError(
        "INVALID_ARGUMENT",
        "PBFT has no leadership transfer: the primary of view v is member v mod n",
      ),
    );
  }

  /**
   * Keeps a local snapshot of the service now (restarts replay from it
   * instead of the stable checkpoint). The protocol's own log is compacted
   * at stable checkpoints, every `checkpointInterval` sequences.
   */
  snapshot(): Promise<LogPosition> {
    if (this.#closed) return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => {
      this.#enqueue((machine) => {
        const { record, sequence } = machine.localSnapshot();
        const operations = this.#service!.executedOperations;
        // Written by the loop after this turn's records (see #handle), never beside them.
        this.#localSnapshots.push({
          record,
          resolve: () => {
            this.#snapshotOperations = operations;
            resolve({ index: operations, term: sequence });
          },
          reject,
        });
      });
    });
  }

  /** Role, view, primary, members, operation counts and health. */
  stats(): ConsensusStats {
    const machine = this.#machine;
    const executed = this.#service?.executedOperations ?? 0;
    return {
      engine: this.name,
      nodeId: this.#options.id,
      role: !machine ? "follower" : machine.viewChanging ? "candidate" : machine.leading ? "leader" : "follower",
      term: machine?.view ?? 0,
      leaderId: machine && !machine.viewChanging ? machine.primary : null,
      members: machine ? [...machine.membership.members] : [...this.#members],
      commitIndex: executed,
      appliedIndex: executed,
      snapshotIndex: Math.min(this.#snapshotOperations, executed),
      healthy: this.#healthy(),
    };
  }

  /** The protocol's own counters: view, sequences, refused messages per peer and reason, dropped frames. */
  pbftStats(): PbftStats & { drops: Record<PbftDropReason, number>; droppedBatches: number } {
    const stats = this.#machine?.stats() ?? emptyStats();
    return { ...stats, drops: this.#drops.counts(), droppedBatches: this.#sender.dropped };
  }

  /** Frames being sealed or opened right now (WebCrypto works off the event loop). */
  get peerCryptoInFlight(): number {
    return this.#auth.inFlight;
  }

  /** Resolves once no frame is being sealed or opened (see {@linkcode PbftConsensus.peerCryptoInFlight}). */
  peerCryptoIdle(): Promise<void> {
    return this.#auth.idle();
  }

  /**
   * Work under way off the event loop: frames being sealed or opened, plus
   * one while the loop persists and hands out a step (file writes and syncs).
   * Tests on manual time wait for {@linkcode PbftConsensus.offLoopIdle} before
   * moving time on, so a slow disk does not look like a timeout.
   */
  get offLoopWork(): number {
    return this.#auth.inFlight + (this.#pumping ? 1 : 0);
  }

  /** Resolves once the crypto under way and the loop's current step are done. */
  async offLoopIdle(): Promise<void> {
    await Promise.all([this.#auth.idle(), this.#idle]);
  }

  /** Stops; pending calls reject with `CONSENSUS_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#tickTimer !== undefined) this.#options.clock.clearTimeout(this.#tickTimer);
    for (const operation of this.#queue) this.#settle(operation, { ok: false, error: this.#closedError() });
    for (const lane of this.#lanes) {
      for (const operation of lane.outstanding?.operations ?? []) {
        this.#settle(operation, { ok: false, error: this.#closedError() });
      }
    }
    await this.#idle;
    await this.#listener?.close().catch(() => {});
    await this.#inbound.closeAll();
    await this.#sender.close();
    for (const snapshot of this.#localSnapshots.splice(0)) snapshot.reject(this.#closedError());
    if (this.#deferred.length > 0) {
      // A clean stop keeps what a crash could lose.
      const records = this.#deferred;
      this.#deferred = [];
      await this.#options.storage.append(records).catch((error) =>
        this.#logger.warn("pbft could not write its held-back records at close", { error: String(error) })
      );
    }
    await this.#options.storage.close();
  }

  /** `CONSENSUS_CLOSED`, saying why when the replica stopped itself. */
  #closedError(): ConsensusError {
    const fatal = this.#fatal;
    return new ConsensusError(
      "CONSENSUS_CLOSED",
      fatal === undefined
        ? "the PBFT replica is closed"
        : `the PBFT replica stopped itself: ${fatal instanceof Error ? fatal.message : String(fatal)}`,
    );
  }

  // ---- the embedded client ----------------------------------------------------------

  #submit(operation: Uint8Array, options: ConsensusCallOptions | undefined): Promise<ApplyOutcome<unknown>> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (!this.#machine) return Promise.reject(new ConsensusError("CONSENSUS_CLOSED", "start() the replica first"));
    const timeoutMs = options?.timeoutMs ?? this.#options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const deadlineMs = this.#options.clock.now() + timeoutMs;
      const queued: QueuedOperation = {
        operation,
        settled: false,
        deadlineMs,
        timeoutMs,
        queuedAtMs: this.#options.clock.now(),
        waiter: { resolve, reject },
      };
      const signal = options?.signal;
      if (signal) {
        const abort = () =>
          this.#settle(queued, { ok: false, error: new ConsensusError("CONSENSUS_TIMEOUT", "aborted") });
        signal.addEventListener("abort", abort, { once: true });
        queued.waiter = {
          resolve: (value) => {
            signal.removeEventListener("abort", abort);
            resolve(value);
          },
          reject: (error) => {
            signal.removeEventListener("abort", abort);
            reject(error);
          },
        };
      }
      this.#queue.push(queued);
      this.#enqueue((machine) => this.#fillLanes(machine));
    });
  }

  /** Fails the calls whose time is up (checked every tick, rather than one timer per call). */
  #expire(): void {
    const now = this.#options.clock.now();
    const expire = (operation: QueuedOperation) => {
      if (operation.settled || operation.deadlineMs > now) return;
      this.#settle(operation, {
        ok: false,
        error: new ConsensusError(
          "CONSENSUS_TIMEOUT",
          `no answer within ${operation.timeoutMs} ms; the outcome is unknown`,
        ),
      });
    };
    for (const operation of this.#queue) expire(operation);
    for (const lane of this.#lanes) for (const operation of lane.outstanding?.operations ?? []) expire(operation);
  }

  #settle(operation: QueuedOperation, outcome: ApplyOutcome<unknown>): void {
    if (operation.settled) return;
    operation.settled = true;
    if (outcome.ok) operation.waiter.resolve(outcome);
    else operation.waiter.reject(outcome.error);
  }

  /**
   * Puts what callers proposed into requests on the idle lanes. At a primary
   * that cannot order another batch yet, nothing: the calls wait here and go
   * out together, in one request, when a batch in flight executes and the
   * next one starts (one request per call, each signed and verified by every
   * replica, cost the 64-client benchmark a third of its writes); after
   * `MAX_HOLD_MS` they go into requests anyway, so that a primary whose
   * batches stall sees them pending and its view can change.
   */
  #fillLanes(machine: Pbft): void {
    this.#queue = this.#queue.filter((operation) => !operation.settled);
    // Held no longer than MAX_HOLD_MS: a primary whose batches in flight do not execute must see these as pending
    // requests (its own timer, and the backups' once they are sent again to every replica, then change the view).
    const oldest = this.#queue[0];
    if (machine.orderingFull && oldest && this.#options.clock.now() - oldest.queuedAtMs < MAX_HOLD_MS) return;
    const maxOperations = this.#options.maxOperationsPerRequest ?? 256;
    const maxBytes = (this.#options.pbft?.maxRequestBytes ?? DEFAULT_PBFT_CONFIG.maxRequestBytes) / 2;
    for (const lane of this.#lanes) {
      if (lane.outstanding || this.#queue.length === 0) continue;
      const operations: QueuedOperation[] = [];
      let bytes = 0;
      while (this.#queue.length > 0 && operations.length < maxOperations) {
        const next = this.#queue[0];
        if (operations.length > 0 && bytes + next.operation.byteLength > maxBytes) break;
        bytes += next.operation.byteLength;
        operations.push(this.#queue.shift()!);
      }
      const body = {
        client: lane.client,
        sequence: ++lane.sequence,
        readOnly: false,
        operations: operations.map((operation) => operation.operation),
      };
      const request: Request = { ...body, signature: this.#options.signer.sign(requestSigningBytes(body)) };
      lane.outstanding = { request, operations, sentAtMs: this.#options.clock.now() };
      machine.step({ type: "request", request, from: this.#options.id });
    }
  }

  /** Sends requests that got no answer again (to every replica). */
  #retransmit(machine: Pbft): void {
    const now = this.#options.clock.now();
    const retransmitMs = this.#options.retransmitMs ?? 500;
    for (const lane of this.#lanes) {
      const outstanding = lane.outstanding;
      if (!outstanding || now - outstanding.sentAtMs < retransmitMs) continue;
      outstanding.sentAtMs = now;
      machine.step({ type: "request", request: outstanding.request, from: this.#options.id });
    }
  }

  /** Answers the callers of this replica's requests that executed. */
  #report(executed: Execution[]): void {
    for (const execution of executed) {
      const lane = this.#lanes.find((candidate) => candidate.client === execution.request.client);
      const outstanding = lane?.outstanding;
      if (!lane || !outstanding || outstanding.request.sequence !== execution.request.sequence) continue;
      const outcomes = this.#service!.takeOutcomes(lane.client, outstanding.request.sequence);
      if (outcomes) this.#finishLane(lane, outcomes);
    }
    const transfers = this.#machine!.stats().stateTransfers;
    if (transfers !== this.#stateTransfersSeen) {
      // Requests that executed inside a transferred state: answer from the request table.
      this.#stateTransfersSeen = transfers;
      for (const lane of this.#lanes) {
        const outstanding = lane.outstanding;
        const reply = this.#service!.lastReply(lane.client);
        if (!outstanding || !reply || reply.sequence < outstanding.request.sequence) continue;
        this.#finishLane(lane, reply.results.map((bytes) => decodeOutcome(bytes, this.#codec)));
      }
    }
  }

  #finishLane(lane: Lane, outcomes: ApplyOutcome<unknown>[]): void {
    const operations = lane.outstanding!.operations;
    lane.outstanding = undefined;
    operations.forEach((operation, i) => this.#settle(operation, outcomes[i] ?? outcomes[0]));
  }

  // ---- the loop -----------------------------------------------------------------------

  #scheduleTick(): void {
    if (this.#closed) return;
    this.#tickTimer = this.#options.clock.setTimeout(() => {
      this.#enqueue((machine) => {
        machine.tick();
        this.#retransmit(machine);
        this.#expire();
      });
      this.#scheduleTick();
    }, this.#options.tickMs ?? 10);
  }

  #enqueue(input: (machine: Pbft) => void): void {
    if (this.#closed) return;
    this.#inbox.push(input);
    this.#kick();
  }

  #kick(): void {
    if (this.#pumping || !this.#machine) return;
    this.#pumping = true;
    this.#idle = new Promise((resolve) => this.#idleResolve = resolve);
    queueMicrotask(() => this.#pump());
  }

  async #pump(): Promise<void> {
    const machine = this.#machine!;
    try {
      while (!this.#closed) {
        const inputs = this.#inbox;
        this.#inbox = [];
        for (const input of inputs) input(machine);
        this.#fillLanes(machine);
        const ready = machine.hasReady();
        if (!ready && this.#localSnapshots.length === 0) {
          if (this.#inbox.length === 0) break;
          continue;
        }
        await this.#handle(ready ? machine.ready() : undefined);
      }
    } catch (error) {
      // Fail-stop: the machine has moved on past what is on disk (a sync that failed), and going on could send what
      // a restart would contradict. Restarted from its log once the cause is fixed, the replica catches up.
      this.#fatal = error;
      this.#logger.error("pbft replica stopped: its loop failed (restart it from its log once the cause is fixed)", {
        error: String(error),
      });
      void this.close();
    } finally {
      this.#pumping = false;
      this.#idleResolve?.();
      if (!this.#closed && this.#inbox.length > 0) this.#kick();
    }
  }

  /**
   * Persists a step, then sends its messages. Local callers hear a batch's
   * results before the sync when that is safe: the batch executed on 2f + 1
   * commits, each persisted by its sender before it left, so it is durable
   * at a quorum, unless this replica's own commit is among them and in this
   * very step (prepares and commits that arrived together): then f + 1
   * certificates on disk are not guaranteed until this step is, and callers
   * hear after it. Local snapshots asked for in this turn are written after
   * the step's records, so no snapshot reaches the disk before the commits of
   * the batches it contains.
   */
  async #handle(ready: PbftReady | undefined): Promise<void> {
    const persist = ready?.persist ?? [];
    const reportFirst = ready !== undefined && reportsBeforeSync(ready);
    if (ready && reportFirst) this.#report(ready.executed);
    const storage = this.#options.storage;
    const snapshots = this.#localSnapshots.splice(0);
    const snapshotRecords = snapshots.map((snapshot) => snapshot.record);
    try {
      if (ready?.compact) {
        this.#deferred = []; // the compacted state holds them
        await storage.rewrite(ready.compact);
        this.#snapshotOperations = this.#service!.executedOperations;
        if (snapshotRecords.length > 0) await storage.append(snapshotRecords);
      } else if (persist.length > 0 || snapshotRecords.length > 0) {
        if (
          snapshotRecords.length === 0 &&
          persist.every(isDeferrable) &&
          this.#deferred.length < MAX_DEFERRED_RECORDS
        ) {
          this.#deferred.push(...persist);
        } else {
          const records = [...this.#deferred, ...persist, ...snapshotRecords];
          this.#deferred = [];
          await storage.append(records);
        }
      }
    } catch (error) {
      for (const snapshot of snapshots) snapshot.reject(error);
      throw error;
    }
    for (const snapshot of snapshots) snapshot.resolve();
    if (!ready) return;
    this.#send(ready.messages);
    if (!reportFirst) this.#report(ready.executed);
  }

  #send(outgoing: readonly Outgoing[]): void {
    const byReceiver = new Map<string, MessageBody[]>();
    for (const { to, message } of outgoing) {
      for (const receiver of to) {
        const list = byReceiver.get(receiver) ?? [];
        list.push(message);
        byReceiver.set(receiver, list);
      }
    }
    const filter = this.#options.outgoing;
    for (const [receiver, messages] of byReceiver) {
      const frame = encodeMessages(filter ? filter(receiver, messages) : messages);
      if (this.#members.includes(receiver)) {
        this.#sender.send(receiver, frame);
      } else {
        const connection = this.#clients.get(receiver);
        connection?.send(withKind(CLIENT_FRAME, frame)).catch(() => this.#clients.delete(receiver));
      }
    }
  }

  // ---- receiving ------------------------------------------------------------------------

  /** Opens and decodes one frame and queues its messages; false when the connection should be closed. */
  async #receive(frame: Uint8Array, connection: TransportConnection): Promise<boolean> {
    if (frame.byteLength === 0) return this.#drop("malformed");
    const body = frame.subarray(1);
    if (frame[0] === PEER_FRAME) {
      const opened = await this.#auth.open(body);
      if (!opened.ok) {
        this.#drops.record(opened.reason, { from: opened.from, detail: opened.detail });
        return opened.reason !== "malformed" && opened.reason !== "bad-mac";
      }
      let messages: MessageBody[];
      try {
        messages = decodeMessages(opened.payload);
      } catch {
        return this.#drop("malformed");
      }
      this.#lastHeard.set(opened.from, this.#options.clock.now());
      this.#enqueue((machine) => {
        for (const message of messages) machine.step({ ...message, from: opened.from });
      });
      return true;
    }
    if (frame[0] !== CLIENT_FRAME) return this.#drop("malformed");
    let messages: MessageBody[];
    try {
      messages = decodeMessages(body);
    } catch {
      return this.#drop("malformed");
    }
    for (const message of messages) {
      if (message.type !== "request") return this.#drop("client-not-request");
      const client = message.request.client;
      if (this.#clients.size >= MAX_CLIENT_CONNECTIONS && !this.#clients.has(client)) {
        this.#clients.delete(this.#clients.keys().next().value!);
      }
      this.#clients.set(client, connection);
      this.#enqueue((machine) => machine.step({ ...message, from: client }));
    }
    return true;
  }

  #drop(reason: PbftDropReason): false {
    this.#drops.record(reason);
    return false;
  }

  #healthy(): boolean {
    const machine = this.#machine;
    if (!machine || this.#closed || machine.viewChanging) return false;
    const windowMs = (this.#options.tickMs ?? 10) * (this.#options.pbft?.requestTimeoutTicks ?? 100);
    const now = this.#options.clock.now();
    let heard = 1;
    for (const [peer, atMs] of this.#lastHeard) if (peer !== this.#options.id && now - atMs <= windowMs) heard++;
    return heard >= machine.membership.quorum;
  }
}

function withKind(kind: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength + 1);
  out[0] = kind;
  out.set(bytes, 1);
  return out;
}

function fixedMembership(): ConsensusError {
  return new ConsensusError(
    "INVALID_ARGUMENT",
    "PBFT's replicas are fixed by configuration (3f + 1 of them): reconfigure every replica to change them",
  );
}

function emptyStats(): PbftStats {
  return {
    view: 0,
    primary: "",
    viewChanging: false,
    sittingOut: false,
    executed: 0,
    stable: 0,
    pendingRequests: 0,
    viewChangesStarted: 0,
    newViews: 0,
    stateTransfers: 0,
    rejected: {},
  };
}
