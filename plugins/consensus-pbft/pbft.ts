/**
 * PBFT (Castro and Liskov, OSDI '99) as a pure state machine, in the manner
 * of the Raft engine: messages, ticks and client requests go in through
 * {@linkcode Pbft.step} and {@linkcode Pbft.tick}; {@linkcode Pbft.ready}
 * says what to persist, send and report. No I/O, no timers, no clock.
 *
 * With `n` replicas it tolerates `f = ⌊(n − 1) / 3⌋` Byzantine ones:
 *
 * - **Normal case.** The primary of view `v` (member `v mod n`) batches
 *   requests and assigns each batch a sequence number inside the window
 *   above the stable checkpoint (pipelining up to `maxInflightBatches`);
 *   backups accept one pre-prepare per view and sequence and send a signed
 *   prepare; a replica with the pre-prepare and quorum − 1 matching
 *   prepares is *prepared* and sends a commit; with a quorum of commits it
 *   executes the batch, in sequence order.
 * - **Checkpoints.** Every `checkpointInterval` sequences a replica signs the
 *   digest of its state; a quorum of matching checkpoints makes it stable,
 *   moves the window and discards the log below.
 * - **View change.** A backup waiting too long for a request starts a view
 *   change (the wait doubles with every view change that fails); so does a
 *   primary whose own batches do not commit; a replica joins a view change
 *   that f + 1 others started. The new primary gathers a quorum of view
 *   changes and pre-prepares again, in the new view, every sequence any of
 *   them prepared (the certificate of the highest view wins), filling gaps
 *   with empty batches; replicas check that plan themselves.
 * - **Catching up.** Replicas exchange a short status now and then; one that
 *   is behind receives the state at the stable checkpoint (checked against
 *   its proof), the batches executed after it (taken once f + 1 replicas
 *   agree), the messages of the current view it missed, or the new view.
 * - **Restarts.** A replica's own pre-prepares and prepares may reach its
 *   disk after they left (a driver writes them with its next commit, see
 *   `driver.ts`), so a crash can make it forget one it sent. A replica
 *   restarted from its records therefore *sits out* the view it crashed
 *   in, for the sequences it could have prepared there (up to its stable
 *   checkpoint plus the window): it sends no prepare for them and, as that
 *   view's primary, orders nothing (it starts a view change at once), so it
 *   can never send two different ones for one view and sequence. It still
 *   takes the others' prepares and commits (its commits are on disk before
 *   they leave) and executes; from the next view, or once the log moved a
 *   window past them, it takes part fully. A new replica writes its view
 *   before its first message, so a restart is always told from a first
 *   start; a view it was changing to when it crashed it never sent in.
 * - **Clients.** Each request is signed by its client and executed at most
 *   once per `(client, sequence)`; the service keeps the last reply per
 *   client and answers a repeat with it. Read-only requests are answered at
 *   once, after everything prepared here has executed.
 *
 * @module
 */
import { ConsensusError, type NodeId } from "../../core/contracts/consensus.ts";
import { checkNewView, checkStable, checkViewChange, digestKey, planNewView, sameDigest } from "./certificates.ts";
import {
  batchDigest,
  checkpointSigningBytes,
  newViewSigningBytes,
  prepareSigningBytes,
  prePrepareSigningBytes,
  replySigningBytes,
  requestSigningBytes,
  requestSizeBytes,
  viewChangeSigningBytes,
} from "./codec.ts";
import { isOutsideClient, requestSigner, sha256, type Signer, type Verifier } from "./crypto.ts";
import { Membership } from "./membership.ts";
import { ViewChangeLog } from "./view_changes.ts";
import type {
  Checkpoint,
  CommittedBatches,
  Digest,
  DurableRecord,
  Execution,
  Message,
  MessageBody,
  NewView,
  Outgoing,
  PbftReady,
  Prepare,
  PreparedCertificate,
  PrePrepare,
  Request,
  StableCheckpoint,
  StateTransfer,
  Status,
  ViewChange,
} from "./types.ts";

/**
 * The replicated service the protocol executes requests on: the
 * application's state machine behind the client table. It must be
 * deterministic, and its snapshot must include the client table.
 */
export interface ReplicatedService {
  /**
   * Executes `request` at its place in the order: its results, or `undefined`
   * when the client already had this or a later request executed (it is then
   * not executed again).
   */
  execute(request: Request, sequence: number): Uint8Array[] | undefined;
  /** The client's latest executed request number and its results, if known. */
  lastReply(client: string): { sequence: number; results: Uint8Array[] } | undefined;
  /** Answers a read-only request from the current state, changing nothing. */
  query(request: Request): Uint8Array[];
  /** The whole state, client table included. */
  snapshot(): Uint8Array;
  /** Replaces the whole state with a snapshot's. */
  restore(snapshot: Uint8Array): void;
}

/** Tunables of one PBFT replica. Times are in ticks. */
export interface PbftConfig {
  /** This replica. */
  id: NodeId;
  /** Every replica, this one included (the order does not matter; all replicas sort it the same way). */
  members: NodeId[];
  /** Signs as this replica. */
  signer: Signer;
  /** Checks members' and clients' signatures. */
  verifier: Verifier;
  /** What requests execute on. */
  service: ReplicatedService;
  /** Sequences between checkpoints. */
  checkpointInterval: number;
  /** Sequences the primary may assign above the stable checkpoint (a multiple of the interval, at least twice it). */
  windowSize: number;
  /** Requests per batch. */
  maxBatchRequests: number;
  /** Bytes of requests per batch. */
  maxBatchBytes: number;
  /** While batches are in flight, wait up to this long for a batch to fill (0: never wait). */
  batchDelayTicks: number;
  /**
   * Batches the primary has proposed and not yet executed. One (the default)
   * makes batches as large as the load: each batch costs signatures and
   * authenticated frames whatever its size, so on loopback and on CPU-bound
   * replicas fewer, larger batches commit more; raise it where the network's
   * delay, not the CPU, is the limit.
   */
  maxInflightBatches: number;
  /** A replica waits this long for a pending request to execute before starting a view change. */
  requestTimeoutTicks: number;
  /** After a quorum of view changes, wait this long for the new view (doubled for each view change that fails). */
  viewChangeTimeoutTicks: number;
  /** Ticks between status messages. */
  statusTicks: number;
  /** Clients with a pending request held at once; more are refused. */
  maxPendingRequests: number;
  /** Read-only requests waiting at once; more are refused. */
  maxPendingReads: number;
  /** Batches sent to a replica that is behind, per status it sends. */
  maxCatchUpBatches: number;
  /** Operations per request. */
  maxOperations: number;
  /** Bytes per request. */
  maxRequestBytes: number;
}

/** Defaults for everything but identity, keys and the service. */
export const DEFAULT_PBFT_CONFIG: Omit<PbftConfig, "id" | "members" | "signer" | "verifier" | "service"> = {
  checkpointInterval: 64,
  windowSize: 256,
  maxBatchRequests: 256,
  maxBatchBytes: 256 * 1024,
  batchDelayTicks: 0,
  maxInflightBatches: 1,
  requestTimeoutTicks: 100,
  viewChangeTimeoutTicks: 100,
  statusTicks: 10,
  maxPendingRequests: 10_000,
  maxPendingReads: 10_000,
  maxCatchUpBatches: 64,
  maxOperations: 1024,
  maxRequestBytes: 1024 * 1024,
};

/** Why a message was refused; counted per peer in {@linkcode PbftStats}. */
export type RejectReason =
  | "not-member"
  | "bad-signature"
  | "bad-request"
  | "bad-certificate"
  | "wrong-view"
  | "outside-window"
  | "equivocation"
  | "conflict"
  | "overload";

/** What a replica reports. */
export interface PbftStats {
  /** Current view (the one it moves to, during a view change). */
  view: number;
  /** The primary of `view`. */
  primary: NodeId;
  /** True during a view change. */
  viewChanging: boolean;
  /**
   * True while restarted in the view it crashed in, with sequences it may have
   * prepared and forgotten still ahead: it prepares none of them, and orders nothing.
   */
  sittingOut: boolean;
  /** Last sequence executed. */
  executed: number;
  /** Stable checkpoint. */
  stable: number;
  /** Clients with a pending request. */
  pendingRequests: number;
  /** View changes this replica started or joined. */
  viewChangesStarted: number;
  /** New views entered. */
  newViews: number;
  /** States taken from other replicas. */
  stateTransfers: number;
  /** Refused messages, per sender and reason. */
  rejected: Record<string, Partial<Record<RejectReason, number>>>;
}

interface Slot {
  sequence: number;
  /** Tick at which this replica first heard of the sequence in `view`. */
  since: number;
  /** The view `prePrepare`, `prepares`, `commits` and `sentCommit` belong to. */
  view: number;
  prePrepare?: PrePrepare;
  prepares: Map<NodeId, Prepare>;
  commits: Map<NodeId, Digest>;
  /** Prepared in `view` (and said so with a commit). */
  sentCommit: boolean;
  /** The prepared certificate of the highest view, with its batch: what a view change carries. */
  certificate?: PreparedCertificate;
  /** Set once the batch is known committed. */
  committed?: CommittedBatch;
}

/** A batch known committed at a sequence. */
export interface CommittedBatch {
  /** Its digest. */
  digest: Digest;
  /** Its requests. */
  batch: Request[];
  /** The view it committed in here; undefined when learned from other replicas or from the log. */
  view?: number;
}

interface PendingRead {
  request: Request;
  client: string;
  afterSequence: number;
}

const NO_STABLE: StableCheckpoint = { sequence: 0, stateDigest: new Uint8Array(), proof: [] };

function requestKey(client: string, sequence: number): string {
  return `${client}\u0000${sequence}`;
}

/**
 * One PBFT replica's state machine.
 *
 * @example
 * ```ts ignore
 * import { DEFAULT_PBFT_CONFIG, Pbft } from "./pbft.ts";
 * const replica = new Pbft({ ...DEFAULT_PBFT_CONFIG, id: "a", members, signer, verifier, service });
 * replica.step({ ...message, from: "b" });
 * const ready = replica.ready(); // persist ready.persist, then send ready.messages
 * ```
 */
export class Pbft {
  /** This replica. */
  readonly id: NodeId;
  /** The replica set. */
  readonly membership: Membership;
  readonly #config: PbftConfig;
  readonly #service: ReplicatedService;
  readonly #context;

  #view = 0;
  #viewChanging = false;
  #newView: NewView | undefined;
  #slots = new Map<number, Slot>();
  #executed = 0;
  #stable: StableCheckpoint = NO_STABLE;
  #stableSnapshot: Uint8Array | undefined;
  #needState = false;
  #ownCheckpoints = new Map<number, { digest: Digest; snapshot: Uint8Array }>();
  #checkpointVotes = new Map<number, Map<NodeId, Checkpoint>>();
  #claims = new Map<number, Map<NodeId, { digest: Digest; batch: Request[] }>>();
  #viewChanges = new ViewChangeLog();

  #pending = new Map<string, Request>();
  #queue: Request[] = [];
  #assigned = new Set<string>();
  #lastAssigned = 0;
  #reads: PendingRead[] = [];
  #verifiedRequests = new Map<string, Uint8Array>();

  #requestElapsed = 0;
  #viewChangeTimerRunning = false;
  #viewChangeElapsed = 0;
  #failedViewChanges = 0;
  #statusElapsed = 0;
  #batchWaited = 0;
  #lastAnswered = new Map<NodeId, number>();
  #ticks = 0;

  #outbox: Outgoing[] = [];
  #persist: DurableRecord[] = [];
  #executions: Execution[] = [];
  #compactPending = false;
  #replaying = false;
  #localSnapshot: DurableRecord | undefined;

  #viewChangesStarted = 0;
  #newViewsEntered = 0;
  #stateTransfers = 0;
  #rejected = new Map<string, Partial<Record<RejectReason, number>>>();
  /**
   * Where a restarted replica may have sent prepares it forgot: in `view`, for
   * sequences up to `upTo`. It sends no prepare there, and orders nothing in
   * `view` (see the module doc).
   */
  #sitOut = { view: -1, upTo: 0 };

  /** Restores a replica from its durable records (none for a new one). */
  constructor(config: PbftConfig, records: readonly DurableRecord[] = []) {
    const { checkpointInterval: interval, windowSize } = config;
    if (!(interval >= 1 && windowSize >= 2 * interval && windowSize % interval === 0)) {
      throw new ConsensusError(
        "INVALID_ARGUMENT",
        "windowSize must be a multiple of checkpointInterval and at least twice it",
      );
    }
    if (config.signer.id !== config.id) {
      throw new ConsensusError("INVALID_ARGUMENT", `signer is ${config.signer.id}, not this replica ${config.id}`);
    }
    this.membership = new Membership(config.members);
    if (!this.membership.has(config.id)) {
      throw new ConsensusError("INVALID_ARGUMENT", `members must include this replica (${config.id})`);
    }
    this.id = config.id;
    this.#config = config;
    this.#service = config.service;
    this.#context = { membership: this.membership, verifier: config.verifier, windowSize };
    this.#replay(records);
    if (records.length === 0) {
      this.#record({ kind: "view", view: this.#view, viewChanging: this.#viewChanging });
    } else {
      // A replica enters a view with a synced record before it sends anything there: one that crashed while
      // changing to a view sent nothing in it. And what it prepared lay inside the window above its stable
      // checkpoint, which is on disk too.
      this.#sitOut = {
        view: this.#viewChanging ? this.#view - 1 : this.#view,
        upTo: this.#stable.sequence + windowSize,
      };
      if (this.leading) this.#startViewChange(this.#view + 1);
    }
  }

  // ---- reading -------------------------------------------------------------

  /** Current view (the view it moves to, during a view change). */
  get view(): number {
    return this.#view;
  }

  /** True during a view change. */
  get viewChanging(): boolean {
    return this.#viewChanging;
  }

  /** The primary of the current view. */
  get primary(): NodeId {
    return this.membership.primaryOf(this.#view);
  }

  /** True when this replica is the primary and in normal operation. */
  get leading(): boolean {
    return !this.#viewChanging && this.primary === this.id;
  }

  /**
   * True when this replica is the primary and cannot order another batch
   * yet (its batches in flight, or the water marks, are at their limit): a
   * request it adds now waits for the next batch, which starts when one in
   * flight executes.
   */
  get orderingFull(): boolean {
    return this.leading && !this.#windowOpen();
  }

  /**
   * True while a restarted replica is still in the view it crashed in, with
   * sequences it may have prepared and forgotten still ahead: it prepares
   * none of them and orders nothing there (see the module doc).
   */
  get sittingOut(): boolean {
    return this.#view <= this.#sitOut.view && this.#stable.sequence < this.#sitOut.upTo;
  }

  /** Whether this replica may prepare `sequence` in the current view (not one it may have prepared and forgotten). */
  #mayPrepare(sequence: number): boolean {
    return this.#view > this.#sitOut.view || sequence > this.#sitOut.upTo;
  }

  /** Last sequence executed. */
  get executed(): number {
    return this.#executed;
  }

  /** The stable checkpoint. */
  get stable(): StableCheckpoint {
    return this.#stable;
  }

  /** The batch committed at `sequence`, while it is still in the log. */
  committedAt(sequence: number): CommittedBatch | undefined {
    return this.#slots.get(sequence)?.committed;
  }

  /** Counters and state, for stats. */
  stats(): PbftStats {
    return {
      view: this.#view,
      primary: this.primary,
      viewChanging: this.#viewChanging,
      sittingOut: this.sittingOut,
      executed: this.#executed,
      stable: this.#stable.sequence,
      pendingRequests: this.#pending.size,
      viewChangesStarted: this.#viewChangesStarted,
      newViews: this.#newViewsEntered,
      stateTransfers: this.#stateTransfers,
      rejected: Object.fromEntries(this.#rejected),
    };
  }

  // ---- input -----------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    this.#ticks++;
    // The primary watches its own requests too: one whose batches cannot commit (it lost the others) gives up its view.
    if (!this.#viewChanging && this.#pending.size > 0) {
      if (++this.#requestElapsed >= this.#config.requestTimeoutTicks) this.#startViewChange(this.#view + 1);
    }
    if (this.#viewChanging && this.#viewChangeTimerRunning) {
      const limit = this.#config.viewChangeTimeoutTicks * 2 ** Math.min(this.#failedViewChanges, 10);
      if (++this.#viewChangeElapsed >= limit) {
        this.#failedViewChanges++;
        this.#startViewChange(this.#view + 1);
      }
    }
    if (++this.#statusElapsed >= this.#config.statusTicks) {
      this.#statusElapsed = 0;
      this.#broadcast({ type: "status", ...this.#statusFields() });
    }
    this.#batchWaited++;
  }

  /**
   * Takes in one message. `from` must be the authenticated sender: a member,
   * or for a request the outside client itself. Anything invalid is refused
   * and counted; nothing a peer sends can throw.
   */
  step(message: Message): void {
    this.#dispatch(message);
  }

  #dispatch(message: Message): void {
    const { from } = message;
    if (message.type !== "request" && !this.membership.has(from)) return this.#reject(from, "not-member");
    if (from === this.id && message.type !== "request") return;
    switch (message.type) {
      case "request":
        return this.#onRequest(message.request, from);
      case "prePrepare":
        return this.#onPrePrepare(message, from);
      case "prepare":
        return this.#onPrepare(message, from);
      case "commit":
        return this.#onCommit(message.view, message.sequence, message.digest, from);
      case "checkpoint":
        return this.#onCheckpoint(message, from);
      case "viewChange":
        return this.#onViewChange(message, from);
      case "newView":
        return this.#onNewView(message, from);
      case "status":
        return this.#onStatus(message, from);
      case "state":
        return this.#onState(message, from);
      case "committed":
        return this.#onCommitted(message, from);
      case "reply":
        return;
    }
  }

  /** True when `ready()` has something to do. */
  hasReady(): boolean {
    return this.#outbox.length > 0 || this.#persist.length > 0 || this.#executions.length > 0 ||
      this.#compactPending || this.#proposalDue();
  }

  /**
   * What to persist, send and report now. A primary orders its next batches
   * here, not in `step` or `tick`: everything stepped in since the last call
   * (a batch executing, and the requests that came meanwhile, this replica's
   * own among them) goes into the same batch.
   */
  ready(): PbftReady {
    this.#propose();
    const ready: PbftReady = { persist: this.#persist, messages: this.#outbox, executed: this.#executions };
    if (this.#compactPending) {
      ready.compact = this.durableState();
      this.#compactPending = false;
    }
    this.#persist = [];
    this.#outbox = [];
    this.#executions = [];
    return ready;
  }

  /**
   * A snapshot of the service as executed so far, as a record to persist: a
   * restart then resumes from it instead of executing again from the stable
   * checkpoint. (The protocol's log is still compacted at stable checkpoints only.)
   */
  localSnapshot(): { record: DurableRecord; sequence: number } {
    const record: DurableRecord = { kind: "local", sequence: this.#executed, snapshot: this.#service.snapshot() };
    this.#localSnapshot = record;
    return { record, sequence: this.#executed };
  }

  /** Everything a restart needs, as few records as possible (what the storage keeps after compaction). */
  durableState(): DurableRecord[] {
    const records: DurableRecord[] = [];
    if (this.#stableSnapshot && this.#stable.sequence > 0) {
      records.push({ kind: "stable", stable: this.#stable, snapshot: this.#stableSnapshot });
    }
    const sequences = [...this.#slots.keys()].sort((a, b) => a - b);
    // In the order they were made: certificates of earlier views before the view and new view that came after them
    // (replayed after the new view, which moves their slots on, they would be dropped as stale).
    for (const sequence of sequences) {
      const slot = this.#slots.get(sequence)!;
      const certificate = slot.certificate;
      if (certificate && certificate.prePrepare.view < slot.view) {
        records.push({ kind: "prePrepare", prePrepare: certificate.prePrepare });
        for (const prepare of certificate.prepares) records.push({ kind: "prepare", prepare });
        const { view, digest } = certificate.prePrepare;
        records.push({ kind: "commit", view, sequence, digest });
      }
    }
    records.push({ kind: "view", view: this.#view, viewChanging: this.#viewChanging });
    if (this.#newView) records.push({ kind: "newView", newView: this.#newView });
    for (const sequence of sequences) {
      const slot = this.#slots.get(sequence)!;
      if (slot.prePrepare) records.push({ kind: "prePrepare", prePrepare: slot.prePrepare });
      for (const prepare of slot.prepares.values()) records.push({ kind: "prepare", prepare });
      if (slot.sentCommit && slot.prePrepare) {
        records.push({ kind: "commit", view: slot.view, sequence, digest: slot.prePrepare.digest });
      }
      if (slot.committed) {
        const carried = slot.certificate && sameDigest(slot.certificate.prePrepare.digest, slot.committed.digest);
        records.push({
          kind: "committed",
          sequence,
          digest: slot.committed.digest,
          ...(carried ? {} : { batch: slot.committed.batch }),
        });
      }
    }
    for (const votes of this.#checkpointVotes.values()) {
      for (const checkpoint of votes.values()) records.push({ kind: "checkpoint", checkpoint });
    }
    const local = this.#localSnapshot;
    if (local?.kind === "local" && local.sequence > this.#stable.sequence) records.push(local);
    return records;
  }

  // ---- requests ----------------------------------------------------------------

  #checkRequest(request: Request, from: string): RejectReason | undefined {
    const signer = requestSigner(request.client, (id) => this.membership.has(id));
    if (!signer) return "bad-request";
    if (request.sequence < 1 || request.operations.length === 0) return "bad-request";
    if (request.operations.length > this.#config.maxOperations) return "bad-request";
    if (requestSizeBytes(request) > this.#config.maxRequestBytes) return "bad-request";
    if (!this.membership.has(from) && from !== request.client) return "bad-request";
    const key = requestKey(request.client, request.sequence);
    const known = this.#verifiedRequests.get(key);
    if (known && sameDigest(known, request.signature)) return undefined;
    // Our own embedded client signed it in this process.
    const own = from === this.id && signer === this.id;
    if (!own && !this.#config.verifier.verify(signer, requestSigningBytes(request), request.signature)) {
      return "bad-signature";
    }
    if (this.#verifiedRequests.size >= 4 * this.#config.maxPendingRequests) this.#verifiedRequests.clear();
    this.#verifiedRequests.set(key, request.signature);
    return undefined;
  }

  #onRequest(request: Request, from: string): void {
    const problem = this.#checkRequest(request, from);
    if (problem) return this.#reject(from, problem);
    if (request.readOnly) return this.#onReadOnly(request, from);
    const last = this.#service.lastReply(request.client);
    if (last && request.sequence <= last.sequence) {
      if (request.sequence === last.sequence && isOutsideClient(request.client)) {
        this.#reply(request.client, last.sequence, false, last.results);
      }
      return;
    }
    const existing = this.#pending.get(request.client);
    if (existing && existing.sequence > request.sequence) return;
    const retransmission = existing !== undefined && existing.sequence === request.sequence;
    if (!existing && this.#pending.size >= this.#config.maxPendingRequests) return this.#reject(from, "overload");
    if (!retransmission) {
      if (existing) this.#pending.delete(request.client);
      this.#pending.set(request.client, request);
      if (this.#pending.size === 1) this.#requestElapsed = 0;
      if (this.leading) this.#enqueue(request);
    }
    if (retransmission && from === this.id) {
      // Our own client still waits: tell every replica, so that all of them watch the primary.
      this.#broadcast({ type: "request", request });
    } else if (!this.#viewChanging && !this.leading && from !== this.primary) {
      this.#send([this.primary], { type: "request", request });
    }
  }

  #enqueue(request: Request): void {
    this.#queue.push(request);
    if (this.#queue.length > 2 * this.#pending.size + 64) {
      this.#queue = this.#queue.filter((queued) => this.#pending.get(queued.client) === queued);
    }
  }

  #onReadOnly(request: Request, from: string): void {
    if (this.membership.has(from)) return this.#reject(from, "bad-request");
    if (this.#reads.length >= this.#config.maxPendingReads) return this.#reject(from, "overload");
    let afterSequence = this.#executed;
    for (const slot of this.#slots.values()) {
      if (slot.certificate && slot.sequence > afterSequence) afterSequence = slot.sequence;
    }
    this.#reads.push({ request, client: from, afterSequence });
    this.#serveReads();
  }

  #serveReads(): void {
    if (this.#reads.length === 0 || this.#needState) return;
    const waiting: PendingRead[] = [];
    for (const read of this.#reads) {
      if (read.afterSequence > this.#executed) {
        waiting.push(read);
        continue;
      }
      this.#reply(read.client, read.request.sequence, true, this.#service.query(read.request));
    }
    this.#reads = waiting;
  }

  // ---- normal case: the primary ---------------------------------------------------

  #windowOpen(): boolean {
    return this.#lastAssigned < this.#stable.sequence + this.#config.windowSize &&
      this.#lastAssigned - this.#executed < this.#config.maxInflightBatches;
  }

  #proposable(): boolean {
    return this.leading && this.#view > this.#sitOut.view && this.#queue.length > 0 && this.#windowOpen();
  }

  #propose(): void {
    while (this.#proposable()) {
      const batch = this.#takeBatch();
      if (!batch) return;
      const sequence = ++this.#lastAssigned;
      const digest = batchDigest(batch);
      const signature = this.#config.signer.sign(prePrepareSigningBytes(this.#view, sequence, digest));
      const prePrepare: PrePrepare = { type: "prePrepare", view: this.#view, sequence, digest, batch, signature };
      this.#batchWaited = 0;
      this.#acceptPrePrepare(prePrepare);
      this.#broadcast(prePrepare);
    }
  }

  /** True when `ready()` would order a batch. */
  #proposalDue(): boolean {
    return this.#proposable() && !this.#waitingToFill() && this.#queue.some((request) => this.#orderable(request));
  }

  /** With a batch in flight, a batch delay, and room left in the next batch: wait for more requests. */
  #waitingToFill(): boolean {
    const { maxBatchRequests, batchDelayTicks } = this.#config;
    return this.#lastAssigned > this.#executed && batchDelayTicks > 0 && this.#batchWaited < batchDelayTicks &&
      this.#queue.length < maxBatchRequests;
  }

  /** A queued request still waiting for a sequence (not replaced by its client's next, not assigned). */
  #orderable(request: Request): boolean {
    return this.#pending.get(request.client) === request &&
      !this.#assigned.has(requestKey(request.client, request.sequence));
  }

  /** The next batch from the queue, or undefined when it should wait to fill. */
  #takeBatch(): Request[] | undefined {
    const { maxBatchRequests, maxBatchBytes } = this.#config;
    if (this.#waitingToFill()) return undefined;
    const batch: Request[] = [];
    let bytes = 0;
    let taken = 0;
    for (; taken < this.#queue.length && batch.length < maxBatchRequests; taken++) {
      const request = this.#queue[taken];
      const key = requestKey(request.client, request.sequence);
      if (!this.#orderable(request)) continue;
      const size = requestSizeBytes(request);
      if (batch.length > 0 && bytes + size > maxBatchBytes) break;
      bytes += size;
      batch.push(request);
      this.#assigned.add(key);
    }
    this.#queue.splice(0, taken);
    return batch.length > 0 ? batch : undefined;
  }

  // ---- normal case: every replica ----------------------------------------------------

  #slot(sequence: number): Slot {
    let slot = this.#slots.get(sequence);
    if (!slot) {
      slot = {
        sequence,
        since: this.#ticks,
        view: this.#view,
        prepares: new Map(),
        commits: new Map(),
        sentCommit: false,
      };
      this.#slots.set(sequence, slot);
    } else if (slot.view < this.#view) {
      slot.view = this.#view;
      slot.since = this.#ticks;
      slot.prePrepare = undefined;
      slot.prepares = new Map();
      slot.commits = new Map();
      slot.sentCommit = false;
    }
    return slot;
  }

  #inWindow(sequence: number): boolean {
    return sequence > this.#stable.sequence && sequence <= this.#stable.sequence + this.#config.windowSize;
  }

  /** Checks a message of the normal case against view and window; counts the refusal. */
  #current(view: number, sequence: number, from: string): boolean {
    if (view !== this.#view || this.#viewChanging) {
      this.#reject(from, "wrong-view");
      return false;
    }
    if (!this.#inWindow(sequence)) {
      this.#reject(from, "outside-window");
      return false;
    }
    return true;
  }

  #onPrePrepare(prePrepare: PrePrepare, from: string): void {
    if (!this.#current(prePrepare.view, prePrepare.sequence, from)) return;
    const primary = this.primary;
    if (primary === this.id) return;
    const signed = prePrepareSigningBytes(prePrepare.view, prePrepare.sequence, prePrepare.digest);
    if (!this.#config.verifier.verify(primary, signed, prePrepare.signature)) {
      return this.#reject(from, "bad-signature");
    }
    const { batch } = prePrepare;
    if (!batch || !sameDigest(batchDigest(batch), prePrepare.digest)) return this.#reject(from, "bad-request");
    const existing = this.#slots.get(prePrepare.sequence);
    if (existing?.view === this.#view && existing.prePrepare) {
      if (!sameDigest(existing.prePrepare.digest, prePrepare.digest)) this.#reject(primary, "equivocation");
      return;
    }
    if (existing?.committed && !sameDigest(existing.committed.digest, prePrepare.digest)) {
      return this.#reject(primary, "conflict");
    }
    const clients = new Set<string>();
    for (const request of batch) {
      if (request.readOnly || clients.has(request.client) || this.#checkRequest(request, primary)) {
        return this.#reject(primary, "bad-request");
      }
      clients.add(request.client);
    }
    this.#acceptPrePrepare(prePrepare);
  }

  #acceptPrePrepare(prePrepare: PrePrepare): void {
    const slot = this.#slot(prePrepare.sequence);
    slot.prePrepare = prePrepare;
    this.#record({ kind: "prePrepare", prePrepare });
    if (this.primary !== this.id && this.#mayPrepare(prePrepare.sequence)) this.#prepare(slot, prePrepare);
    this.#checkPrepared(slot);
  }

  /** As a backup: records and sends this replica's prepare of `prePrepare` in the current view. */
  #prepare(slot: Slot, prePrepare: PrePrepare): void {
    const body = { view: this.#view, sequence: prePrepare.sequence, digest: prePrepare.digest, replica: this.id };
    const prepare: Prepare = {
      type: "prepare",
      ...body,
      signature: this.#config.signer.sign(prepareSigningBytes(body)),
    };
    slot.prepares.set(this.id, prepare);
    this.#record({ kind: "prepare", prepare });
    this.#broadcast(prepare);
  }

  #onPrepare(prepare: Prepare, from: string): void {
    if (!this.#current(prepare.view, prepare.sequence, from)) return;
    if (!this.membership.has(prepare.replica) || prepare.replica === this.primary || prepare.replica === this.id) {
      return this.#reject(from, "bad-request");
    }
    if (!this.#config.verifier.verify(prepare.replica, prepareSigningBytes(prepare), prepare.signature)) {
      return this.#reject(from, "bad-signature");
    }
    const slot = this.#slot(prepare.sequence);
    const existing = slot.prepares.get(prepare.replica);
    if (existing) {
      if (!sameDigest(existing.digest, prepare.digest)) this.#reject(prepare.replica, "equivocation");
      return;
    }
    slot.prepares.set(prepare.replica, prepare);
    this.#record({ kind: "prepare", prepare });
    this.#checkPrepared(slot);
  }

  #checkPrepared(slot: Slot): void {
    const prePrepare = slot.prePrepare;
    if (!prePrepare || slot.sentCommit) return;
    const matching = [...slot.prepares.values()].filter((prepare) => sameDigest(prepare.digest, prePrepare.digest));
    if (matching.length < this.membership.quorum - 1) return;
    slot.certificate = { prePrepare, prepares: matching.slice(0, this.membership.quorum - 1) };
    slot.sentCommit = true;
    slot.commits.set(this.id, prePrepare.digest);
    this.#record({ kind: "commit", view: slot.view, sequence: slot.sequence, digest: prePrepare.digest });
    this.#broadcast({ type: "commit", view: slot.view, sequence: slot.sequence, digest: prePrepare.digest });
    this.#checkCommitted(slot);
  }

  #onCommit(view: number, sequence: number, digest: Digest, from: NodeId): void {
    if (!this.#current(view, sequence, from)) return;
    const slot = this.#slot(sequence);
    const existing = slot.commits.get(from);
    if (existing) {
      if (!sameDigest(existing, digest)) this.#reject(from, "equivocation");
      return;
    }
    slot.commits.set(from, digest);
    this.#checkCommitted(slot);
  }

  #checkCommitted(slot: Slot): void {
    if (slot.committed || !slot.sentCommit || !slot.prePrepare) return;
    const digest = slot.prePrepare.digest;
    let count = 0;
    for (const commit of slot.commits.values()) if (sameDigest(commit, digest)) count++;
    if (count < this.membership.quorum) return;
    this.#markCommitted(slot, digest, slot.prePrepare.batch!, false);
  }

  #markCommitted(slot: Slot, digest: Digest, batch: Request[], learned: boolean): void {
    slot.committed = learned ? { digest, batch } : { digest, batch, view: slot.view };
    this.#record({ kind: "committed", sequence: slot.sequence, digest, ...(learned ? { batch } : {}) });
    this.#executeReady();
  }

  #executeReady(): void {
    if (this.#needState) return;
    for (;;) {
      const slot = this.#slots.get(this.#executed + 1);
      if (!slot?.committed) break;
      this.#executeBatch(slot.sequence, slot.committed);
    }
    this.#serveReads();
  }

  #executeBatch(sequence: number, committed: CommittedBatch): void {
    const { batch, digest, view } = committed;
    for (const request of batch) {
      const results = this.#service.execute(request, sequence);
      if (!this.#replaying) this.#executions.push({ sequence, digest, view, request, results });
      if (results && isOutsideClient(request.client)) this.#reply(request.client, request.sequence, false, results);
      const pending = this.#pending.get(request.client);
      if (pending && pending.sequence <= request.sequence) this.#pending.delete(request.client);
      this.#assigned.delete(requestKey(request.client, request.sequence));
    }
    this.#executed = sequence;
    this.#requestElapsed = 0;
    if (batch.length > 0) this.#failedViewChanges = 0;
    if (sequence % this.#config.checkpointInterval === 0) this.#takeCheckpoint(sequence);
  }

  // ---- checkpoints -----------------------------------------------------------------

  #takeCheckpoint(sequence: number): void {
    const snapshot = this.#service.snapshot();
    const stateDigest = sha256(snapshot);
    this.#ownCheckpoints.set(sequence, { digest: stateDigest, snapshot });
    if (this.#replaying && this.#checkpointVotes.get(sequence)?.has(this.id)) {
      return this.#checkStableAt(sequence);
    }
    const body = { sequence, stateDigest, replica: this.id };
    const checkpoint: Checkpoint = {
      type: "checkpoint",
      ...body,
      signature: this.#config.signer.sign(checkpointSigningBytes(body)),
    };
    this.#broadcast(checkpoint);
    this.#addCheckpointVote(checkpoint);
  }

  #onCheckpoint(checkpoint: Checkpoint, from: NodeId): void {
    const { sequence, replica } = checkpoint;
    if (!this.membership.has(replica)) return this.#reject(from, "not-member");
    if (
      sequence <= this.#stable.sequence || sequence % this.#config.checkpointInterval !== 0 ||
      sequence > this.#stable.sequence + 4 * this.#config.windowSize
    ) return;
    if (this.#checkpointVotes.get(sequence)?.has(replica)) return;
    if (!this.#config.verifier.verify(replica, checkpointSigningBytes(checkpoint), checkpoint.signature)) {
      return this.#reject(from, "bad-signature");
    }
    this.#addCheckpointVote(checkpoint);
  }

  #addCheckpointVote(checkpoint: Checkpoint): void {
    let votes = this.#checkpointVotes.get(checkpoint.sequence);
    if (!votes) this.#checkpointVotes.set(checkpoint.sequence, votes = new Map());
    if (votes.has(checkpoint.replica)) return;
    votes.set(checkpoint.replica, checkpoint);
    this.#record({ kind: "checkpoint", checkpoint });
    this.#checkStableAt(checkpoint.sequence);
  }

  #checkStableAt(sequence: number): void {
    const votes = this.#checkpointVotes.get(sequence);
    if (!votes) return;
    const byDigest = new Map<string, Checkpoint[]>();
    for (const vote of votes.values()) {
      const key = digestKey(vote.stateDigest);
      byDigest.set(key, [...(byDigest.get(key) ?? []), vote]);
    }
    for (const proof of byDigest.values()) {
      if (proof.length >= this.membership.quorum) {
        return this.#advanceStable({
          sequence,
          stateDigest: proof[0].stateDigest,
          proof: proof.slice(0, this.membership.quorum),
        });
      }
    }
  }

  /** Moves the stable checkpoint to `stable` (already checked) and discards what it covers. */
  #advanceStable(stable: StableCheckpoint): void {
    if (stable.sequence <= this.#stable.sequence) return;
    this.#stable = stable;
    const own = this.#ownCheckpoints.get(stable.sequence);
    if (own && sameDigest(own.digest, stable.stateDigest)) {
      this.#stableSnapshot = own.snapshot;
    } else {
      // Behind the checkpoint, or our state there differs from the quorum's: take the state from others.
      this.#stableSnapshot = undefined;
      this.#needState = true;
      if (own) this.#reject(this.id, "conflict");
    }
    for (const sequence of this.#slots.keys()) if (sequence <= stable.sequence) this.#slots.delete(sequence);
    for (const sequence of this.#ownCheckpoints.keys()) {
      if (sequence < stable.sequence) this.#ownCheckpoints.delete(sequence);
    }
    for (const sequence of this.#checkpointVotes.keys()) {
      if (sequence <= stable.sequence) this.#checkpointVotes.delete(sequence);
    }
    for (const sequence of this.#claims.keys()) if (sequence <= stable.sequence) this.#claims.delete(sequence);
    if (this.#lastAssigned < stable.sequence) this.#lastAssigned = stable.sequence;
    if (this.#stableSnapshot) this.#compactPending = !this.#replaying;
    if (this.#needState && !this.#replaying) this.#broadcast({ type: "status", ...this.#statusFields() });
  }

  // ---- view changes -------------------------------------------------------------------

  #startViewChange(view: number): void {
    if (view <= this.#view && this.#viewChanging) return;
    this.#view = view;
    this.#viewChanging = true;
    this.#viewChangeTimerRunning = false;
    this.#viewChangeElapsed = 0;
    this.#requestElapsed = 0;
    this.#queue = [];
    this.#assigned.clear();
    this.#viewChangesStarted++;
    this.#record({ kind: "view", view, viewChanging: true });
    const viewChange = this.#ownViewChange();
    this.#viewChanges.add(viewChange);
    this.#broadcast(viewChange);
    this.#checkViewChangeQuorum();
  }

  #ownViewChange(): ViewChange {
    const prepared: PreparedCertificate[] = [];
    for (const sequence of [...this.#slots.keys()].sort((a, b) => a - b)) {
      const certificate = this.#slots.get(sequence)!.certificate;
      if (certificate && sequence > this.#stable.sequence) prepared.push(certificate);
    }
    const body = { type: "viewChange" as const, view: this.#view, stable: this.#stable, prepared, replica: this.id };
    return { ...body, signature: this.#config.signer.sign(viewChangeSigningBytes(body)) };
  }

  #onViewChange(viewChange: ViewChange, from: NodeId): void {
    if (viewChange.view < this.#view || (viewChange.view === this.#view && !this.#viewChanging)) {
      if (viewChange.view === this.#view && this.#newView) this.#send([from], this.#newView);
      return;
    }
    if (this.#viewChanges.has(viewChange.replica, viewChange.view)) return;
    const problem = checkViewChange(viewChange, this.#context, true);
    if (problem) return this.#reject(from, "bad-certificate");
    this.#viewChanges.add(viewChange);
    const join = this.#viewChanges.joinable(this.#view, this.membership.weak);
    if (join !== undefined) this.#startViewChange(join);
    this.#checkViewChangeQuorum();
  }

  #checkViewChangeQuorum(): void {
    if (!this.#viewChanging) return;
    const forView = this.#viewChanges.forView(this.#view);
    if (forView.length < this.membership.quorum) return;
    if (!this.#viewChangeTimerRunning) {
      this.#viewChangeTimerRunning = true;
      this.#viewChangeElapsed = 0;
    }
    if (this.membership.primaryOf(this.#view) === this.id) this.#sendNewView(forView);
  }

  #sendNewView(forView: ViewChange[]): void {
    const own = forView.find((change) => change.replica === this.id)!;
    const others = forView.filter((change) => change !== own).sort((a, b) => (a.replica < b.replica ? -1 : 1));
    const chosen = [own, ...others].slice(0, this.membership.quorum);
    const plan = planNewView(chosen);
    const prePrepares = plan.slots.map(({ sequence, digest, batch }): PrePrepare => ({
      type: "prePrepare",
      view: this.#view,
      sequence,
      digest,
      batch,
      signature: this.#config.signer.sign(prePrepareSigningBytes(this.#view, sequence, digest)),
    }));
    const viewChanges = chosen.map((change) => ({
      ...change,
      prepared: change.prepared.map(({ prePrepare, prepares }) => ({
        prePrepare: { ...prePrepare, batch: undefined },
        prepares,
      })),
    }));
    const body = { type: "newView" as const, view: this.#view, viewChanges, prePrepares, replica: this.id };
    const newView: NewView = { ...body, signature: this.#config.signer.sign(newViewSigningBytes(body)) };
    this.#broadcast(newView);
    this.#enterNewView(newView);
  }

  #onNewView(newView: NewView, from: NodeId): void {
    if (newView.view < this.#view || (newView.view === this.#view && !this.#viewChanging)) return;
    if (checkNewView(newView, this.#context)) return this.#reject(from, "bad-certificate");
    this.#enterNewView(newView);
  }

  #enterNewView(newView: NewView): void {
    this.#view = newView.view;
    this.#viewChanging = false;
    this.#viewChangeTimerRunning = false;
    this.#requestElapsed = 0;
    this.#newView = newView;
    if (!this.#replaying) this.#newViewsEntered++;
    this.#record({ kind: "view", view: newView.view, viewChanging: false });
    this.#record({ kind: "newView", newView });
    this.#viewChanges.discardUpTo(newView.view);
    const plan = planNewView(newView.viewChanges);
    if (plan.stable.sequence > this.#stable.sequence) this.#advanceStable(plan.stable);
    let highest = plan.stable.sequence;
    const primary = this.primary === this.id;
    for (const prePrepare of newView.prePrepares) {
      highest = Math.max(highest, prePrepare.sequence);
      if (!this.#inWindow(prePrepare.sequence)) continue;
      const slot = this.#slot(prePrepare.sequence);
      if (slot.committed && !sameDigest(slot.committed.digest, prePrepare.digest)) {
        this.#reject(newView.replica, "conflict");
        continue;
      }
      slot.prePrepare = prePrepare;
      if (!primary && this.#mayPrepare(prePrepare.sequence)) this.#prepare(slot, prePrepare);
      this.#checkPrepared(slot);
      for (const request of prePrepare.batch ?? []) this.#assigned.add(requestKey(request.client, request.sequence));
    }
    this.#lastAssigned = Math.max(highest, this.#stable.sequence);
    this.#queue = [];
    for (const request of this.#pending.values()) {
      if (this.#assigned.has(requestKey(request.client, request.sequence))) continue;
      if (primary) this.#enqueue(request);
      else this.#send([this.primary], { type: "request", request });
    }
    this.#executeReady();
  }

  // ---- catching up ------------------------------------------------------------------

  #statusFields(): Omit<Status, "type"> {
    return {
      view: this.#view,
      viewChanging: this.#viewChanging,
      executed: this.#needState ? Math.min(this.#executed, this.#stable.sequence - 1) : this.#executed,
      stable: this.#stable.sequence,
    };
  }

  #onStatus(status: Status, from: NodeId): void {
    const answered = this.#lastAnswered.get(from);
    if (answered !== undefined && this.#ticks - answered < this.#config.statusTicks) return;
    this.#lastAnswered.set(from, this.#ticks);
    if (
      !this.#viewChanging && this.#newView && status.view <= this.#view &&
      (status.view < this.#view || status.viewChanging)
    ) {
      this.#send([from], this.#newView);
    }
    if (this.#viewChanging && (status.view < this.#view || (status.viewChanging && status.view === this.#view))) {
      // The peer has not joined our view change (yet): with f + 1 of these it will.
      const own = this.#viewChanges.get(this.id, this.#view);
      if (own) this.#send([from], own);
    }
    if (status.executed < this.#stable.sequence && this.#stableSnapshot) {
      this.#send([from], { type: "state", stable: this.#stable, snapshot: this.#stableSnapshot });
    } else if (status.executed < this.#executed) {
      const batches: CommittedBatches["batches"] = [];
      const last = Math.min(this.#executed, status.executed + this.#config.maxCatchUpBatches);
      for (let sequence = status.executed + 1; sequence <= last; sequence++) {
        const committed = this.#slots.get(sequence)?.committed;
        if (committed) batches.push({ sequence, digest: committed.digest, batch: committed.batch });
      }
      if (batches.length > 0) this.#send([from], { type: "committed", batches });
    }
    if (!this.#viewChanging && !status.viewChanging && status.view === this.#view) {
      this.#resendCurrentView(from, status);
    }
  }

  /** Sends a peer in the same view our messages for the sequences it has not executed (a bounded number). */
  #resendCurrentView(to: NodeId, status: Status): void {
    // Sequences this replica executed count too: the peer may lack only the commits that let it execute them.
    let budget = this.#config.maxCatchUpBatches;
    for (const slot of [...this.#slots.values()].sort((a, b) => a.sequence - b.sequence)) {
      if (slot.sequence <= status.executed || slot.view !== this.#view || !slot.prePrepare) continue;
      if (this.#ticks - slot.since < this.#config.statusTicks) continue;
      if (budget-- <= 0) break;
      const { view, sequence, digest } = slot.prePrepare;
      if (this.primary === this.id) this.#send([to], slot.prePrepare);
      const own = slot.prepares.get(this.id);
      if (own) this.#send([to], own);
      if (slot.sentCommit) this.#send([to], { type: "commit", view, sequence, digest });
    }
  }

  #onState(transfer: StateTransfer, from: NodeId): void {
    const { stable, snapshot } = transfer;
    const behind = this.#needState ? stable.sequence >= this.#stable.sequence : stable.sequence > this.#executed;
    if (!behind || stable.sequence === 0) return;
    if (checkStable(stable, this.#context) || !sameDigest(sha256(snapshot), stable.stateDigest)) {
      return this.#reject(from, "bad-certificate");
    }
    this.#service.restore(snapshot);
    this.#stateTransfers++;
    this.#executed = stable.sequence;
    this.#needState = false;
    this.#ownCheckpoints.clear();
    this.#ownCheckpoints.set(stable.sequence, { digest: stable.stateDigest, snapshot });
    if (stable.sequence > this.#stable.sequence) this.#advanceStable(stable);
    else this.#stableSnapshot = snapshot;
    this.#compactPending = true;
    for (const [client, request] of this.#pending) {
      const last = this.#service.lastReply(client);
      if (last && last.sequence >= request.sequence) this.#pending.delete(client);
    }
    this.#executeReady();
  }

  #onCommitted(message: CommittedBatches, from: NodeId): void {
    for (const { sequence, digest, batch } of message.batches) {
      if (sequence <= this.#executed || !this.#inWindow(sequence)) continue;
      const slot = this.#slots.get(sequence);
      if (slot?.committed) continue;
      if (!sameDigest(batchDigest(batch), digest)) return this.#reject(from, "bad-request");
      let claims = this.#claims.get(sequence);
      if (!claims) this.#claims.set(sequence, claims = new Map());
      if (claims.has(from)) continue;
      claims.set(from, { digest, batch });
      let agreeing = 0;
      for (const claim of claims.values()) if (sameDigest(claim.digest, digest)) agreeing++;
      if (agreeing >= this.membership.weak) {
        this.#claims.delete(sequence);
        this.#markCommitted(slot ?? this.#slot(sequence), digest, batch, true);
      }
    }
  }

  // ---- restart -----------------------------------------------------------------------

  #replay(records: readonly DurableRecord[]): void {
    this.#replaying = true;
    for (const record of records) {
      switch (record.kind) {
        case "stable":
          this.#service.restore(record.snapshot);
          this.#executed = Math.max(this.#executed, record.stable.sequence);
          this.#ownCheckpoints.set(record.stable.sequence, {
            digest: record.stable.stateDigest,
            snapshot: record.snapshot,
          });
          this.#needState = false;
          if (record.stable.sequence > this.#stable.sequence) this.#advanceStable(record.stable);
          this.#stableSnapshot = record.snapshot;
          break;
        case "view":
          this.#view = record.view;
          this.#viewChanging = record.viewChanging;
          break;
        case "newView":
          this.#replayNewView(record.newView);
          break;
        case "prePrepare": {
          const slot = this.#replaySlot(record.prePrepare.sequence, record.prePrepare.view);
          if (slot) slot.prePrepare = record.prePrepare;
          break;
        }
        case "prepare": {
          const slot = this.#replaySlot(record.prepare.sequence, record.prepare.view);
          slot?.prepares.set(record.prepare.replica, record.prepare);
          break;
        }
        case "commit": {
          const slot = this.#replaySlot(record.sequence, record.view);
          if (slot?.prePrepare && sameDigest(slot.prePrepare.digest, record.digest)) {
            const matching = [...slot.prepares.values()].filter((prepare) => sameDigest(prepare.digest, record.digest));
            slot.certificate = { prePrepare: slot.prePrepare, prepares: matching.slice(0, this.membership.quorum - 1) };
            slot.sentCommit = true;
            slot.commits.set(this.id, record.digest);
          }
          break;
        }
        case "committed": {
          if (record.sequence <= this.#stable.sequence) break;
          const slot = this.#slots.get(record.sequence) ?? this.#replaySlot(record.sequence, 0);
          const batch = record.batch ?? this.#batchFor(slot, record.digest);
          if (slot && batch) slot.committed = { digest: record.digest, batch };
          break;
        }
        case "local":
          if (record.sequence > this.#executed) {
            this.#executeReady();
            if (record.sequence > this.#executed) {
              this.#service.restore(record.snapshot);
              this.#executed = record.sequence;
            }
          }
          this.#localSnapshot = record;
          break;
        case "checkpoint": {
          const { sequence, replica } = record.checkpoint;
          if (sequence <= this.#stable.sequence) break;
          let votes = this.#checkpointVotes.get(sequence);
          if (!votes) this.#checkpointVotes.set(sequence, votes = new Map());
          votes.set(replica, record.checkpoint);
          break;
        }
      }
    }
    this.#executeReady();
    for (const sequence of this.#checkpointVotes.keys()) this.#checkStableAt(sequence);
    this.#replaying = false;
    this.#persist = [];
    this.#outbox = [];
    this.#lastAssigned = Math.max(this.#lastAssigned, ...this.#slots.keys(), this.#stable.sequence);
    if (this.#viewChanging) {
      const viewChange = this.#ownViewChange();
      this.#viewChanges.add(viewChange);
      this.#broadcast(viewChange);
    }
    this.#broadcast({ type: "status", ...this.#statusFields() });
  }

  #batchFor(slot: Slot | undefined, digest: Digest): Request[] | undefined {
    if (slot?.prePrepare?.batch && sameDigest(slot.prePrepare.digest, digest)) return slot.prePrepare.batch;
    const certificate = slot?.certificate?.prePrepare;
    if (certificate?.batch && sameDigest(certificate.digest, digest)) return certificate.batch;
    return undefined;
  }

  /** The slot for a replayed record of `view`: reset when the view is newer, undefined when it is older. */
  #replaySlot(sequence: number, view: number): Slot | undefined {
    if (sequence <= this.#stable.sequence) return undefined;
    let slot = this.#slots.get(sequence);
    if (!slot) {
      slot = { sequence, since: 0, view, prepares: new Map(), commits: new Map(), sentCommit: false };
      this.#slots.set(sequence, slot);
    } else if (slot.view < view) {
      slot.view = view;
      slot.prePrepare = undefined;
      slot.prepares = new Map();
      slot.commits = new Map();
      slot.sentCommit = false;
    } else if (slot.view > view) {
      return undefined;
    }
    return slot;
  }

  #replayNewView(newView: NewView): void {
    this.#newView = newView;
    const plan = planNewView(newView.viewChanges);
    if (plan.stable.sequence > this.#stable.sequence) this.#advanceStable(plan.stable);
    for (const prePrepare of newView.prePrepares) {
      const slot = this.#replaySlot(prePrepare.sequence, newView.view);
      if (slot) slot.prePrepare = prePrepare;
    }
  }

  // ---- output ------------------------------------------------------------------------

  #record(record: DurableRecord): void {
    if (!this.#replaying) this.#persist.push(record);
  }

  #send(to: string[], message: MessageBody): void {
    if (!this.#replaying) this.#outbox.push({ to, message });
  }

  #reply(client: string, sequence: number, readOnly: boolean, results: Uint8Array[]): void {
    if (this.#replaying) return;
    const body = { view: this.#view, client, sequence, readOnly, results, replica: this.id };
    this.#send([client], { type: "reply", ...body, signature: this.#config.signer.sign(replySigningBytes(body)) });
  }

  #broadcast(message: MessageBody): void {
    const to = this.membership.members.filter((id) => id !== this.id);
    if (to.length > 0) this.#send(to, message);
  }

  #reject(from: string, reason: RejectReason): void {
    const key = this.membership.has(from) ? from : "clients";
    let counts = this.#rejected.get(key);
    if (!counts) this.#rejected.set(key, counts = {});
    counts[reason] = (counts[reason] ?? 0) + 1;
  }
}
