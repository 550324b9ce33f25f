/**
 * `consensus-adaptive`: Raft and PBFT behind one consensus contract, the
 * cluster switching between them, live and both ways, at a position its log
 * agrees on (the plan is `docs/design/adaptive-consensus.md`).
 *
 * The engine runs a sequence of **epochs**, each one engine (Raft or PBFT)
 * on its own transport channel under keys of its own, applying the adaptive
 * log to an {@linkcode EpochMachine}. Members put their measurements
 * (`report`) and operators' holds (`force`) in the log; every replica feeds
 * them to the same deterministic tally, so every replica decides a change
 * of engine at the same index and seals the epoch there. The handover state
 * at the seal (the application's state, the client table, the tally) is
 * kept on disk and starts the next epoch's engine; entries after the seal
 * are not applied and their proposers propose them again in the next epoch
 * under the same client identity, so each executes exactly once. A replica
 * that missed a switch fetches the newest handover from `f + 1` peers that
 * agree on it (the epoch service) and joins.
 *
 * Every proposal carries a client identity: the caller's, or one of the
 * engine's own (a lane per concurrent proposal), which is what makes a
 * proposal safe to propose again in the next epoch.
 *
 * @module
 */
import type {
  Committed,
  Consensus,
  ConsensusCallOptions,
  ConsensusStateMachine,
  ConsensusStats,
  LogPosition,
  NodeId,
  ProposeOptions,
} from "../../core/contracts/consensus.ts";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { clientRequestOf, encodeClientCommand } from "../../core/contracts/client_command.ts";
import type { Mode } from "../../core/contracts/mode.ts";
import type { ModeAgreement, ModeAgreementStats } from "../../core/contracts/mode_agreement.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";
import type { Transport } from "../../core/contracts/transport.ts";
import { resolveConfig } from "../../core/control/config.ts";
import type { Thresholds } from "../../core/control/detector.ts";
import { type AgreedMode, ModeTally, type ModeTallyStats } from "../../core/control/mode_tally.ts";
import { type Clock, sleep, type TimerId } from "../../core/util/clock.ts";
import { type Logger, silentLogger } from "../../core/util/logger.ts";
import type { ClientTableLimits } from "../consensus-kit/client_table.ts";
import { DeduplicatingStateMachine } from "../consensus-kit/deduplicating_machine.ts";
import { epochKeys, labelledKeys, type PeerKeys } from "../peer-auth/keys.ts";
import { MAX_CHANNEL, TransportChannels } from "../transport-kit/channels.ts";
import { decodeEntry, encodeEntry } from "./entries.ts";
import { type EngineName, EpochMachine, type EpochResult, type Handover } from "./epoch_machine.ts";
import { EpochService, type EpochServiceStats } from "./epoch_service.ts";
import { encodeHandover, type HandoverStore } from "./handover_store.ts";

/** What an engine factory gets for one epoch. */
export interface EpochContext {
  /** The epoch's number (0 for the first). */
  epoch: number;
  /** The engine to make. */
  engine: EngineName;
  /** The epoch's own channel of the node's transport: listen and dial the members' usual addresses on it. */
  transport: Transport;
  /** The epoch's own pair keys (the base keys through `epochKeys`), for the engine's peer authentication. */
  keys: PeerKeys;
  /** When the adaptive engine started: the engine's peer authentication takes it as its `startedAtMs`. */
  startedAtMs: number;
  /**
   * The member to lead a new Raft epoch's first term at once (the one whose
   * entry decided the switch; the same on every replica): give it to Raft as
   * `firstLeader`. Undefined for epoch 0 and when members were not named.
   */
  firstLeader?: string;
  /** The state machine the engine replicates. */
  stateMachine: EpochMachine<unknown>;
}

/**
 * One epoch's engine: the consensus contract, and optionally Raft's
 * `campaign()`, which the replica that led the epoch before calls at the
 * start of a new Raft epoch so it need not wait out an election timeout, and
 * `heartbeat()`, which a leader's replica calls when it applies the seal so
 * the followers learn it at once.
 */
export type EpochEngine = Consensus<EpochResult<unknown>> & { campaign?(): void; heartbeat?(): void };

/**
 * Makes one epoch's engine, not started. Each epoch needs storage of its
 * own (e.g. `<dataDir>/epoch-<n>/`): a new epoch starts on an empty log.
 */
export type EngineFactory = (context: EpochContext) => EpochEngine;

/** How an {@linkcode AdaptiveConsensus} runs. */
export interface AdaptiveConsensusOptions<Result> {
  /** This replica. */
  id: NodeId;
  /** Every member's address, this replica's included (the epochs and the control channel share them). */
  peers: Record<NodeId, string>;
  /** The node's transport; the engine makes its channels over it. */
  transport: Transport;
  /** Time source. */
  clock: Clock;
  /** The application. */
  stateMachine: ConsensusStateMachine<Result>;
  /** The replicas' base pair keys (cluster keys, or PBFT's `replicaKeys(...).channel`): each epoch derives its own. */
  channelKeys: PeerKeys;
  /** The engines. Without `pbft`, or with fewer than 4 members, PBFT is unavailable and every epoch runs Raft. */
  engines: { raft: EngineFactory; pbft?: EngineFactory };
  /** Where the handover that starts the current epoch is kept. */
  handovers: HandoverStore;
  /**
   * Told that every epoch below `epoch` is over here for good (its engine
   * closed, or this replica started in `epoch`): their logs may go (see
   * `discardEpochDirs`). Its failures are logged, never fatal.
   */
  discardEpochsBefore?(epoch: number): Promise<unknown>;
  /** Thresholds and hysteresis of the cluster's decision (default: the detector's defaults). */
  thresholds?: Thresholds;
  /** The mode before any decision (default `datacenter`). */
  initialMode?: Mode;
  /** Shortest time between two decided changes, on the members' robust clock (default 30,000 ms). */
  cooldownMs?: number;
  /** This replica's medians, reported every `reportEveryMs` when given (undefined: nothing to report yet). */
  measure?: () => NetworkSample | undefined;
  /** How often `measure` is reported (default 1,000 ms). */
  reportEveryMs?: number;
  /** How long a sealed epoch's engine keeps serving replicas that have not reached the seal (default 2,000 ms). */
  graceMs?: number;
  /**
   * In hybrid mode on Raft, evidence that a member is Byzantine (frames
   * authenticated with a member's key whose messages are invalid, or that
   * claim another sender: Raft's `invalid-message` and `sender-mismatch`
   * refusals) makes this replica ask for internet mode (a force, so it takes
   * `f + 1` replicas seeing evidence to move the cluster to PBFT; the hold
   * stays until an operator releases it). Default true.
   */
  byzantineFallback?: boolean;
  /** How often replicas tell each other their epoch (default 250 ms). */
  statusIntervalMs?: number;
  /** Largest clock difference between replicas, ms (default 250). */
  maxClockSkewMs?: number;
  /** Default limit of `propose` and `read`, across epochs (default 5,000 ms). */
  timeoutMs?: number;
  /** Prefix of the engine's own client identities (default: this id and a random tag; give a fixed one only in deterministic simulations, unique per start). */
  clientPrefix?: string;
  /** Bounds of the client table carried from epoch to epoch (the same on every replica). */
  deduplication?: Partial<ClientTableLimits>;
  /** Where to log. */
  logger?: Logger;
}

/** A switch this replica made. */
export interface SwitchRecord {
  /** The epoch it left. */
  fromEpoch: number;
  /** The epoch it started. */
  toEpoch: number;
  /** The engine it left. */
  from: EngineName;
  /** The engine it started. */
  to: EngineName;
  /** The agreed decision. */
  agreed: AgreedMode;
  /** How: it applied the seal itself, or fetched the handover from its peers (it missed the seal). */
  how: "sealed" | "fetched";
  /** This replica's clock when it applied the seal (or took the fetched handover). */
  sealedAtMs: number;
  /** When the new epoch's engine was running. */
  startedAtMs?: number;
  /** When the new epoch first committed a proposal of this replica. */
  firstCommitAtMs?: number;
  /** Who led the epoch it left, as this replica knew (it campaigns first in a new Raft epoch). */
  previousLeader?: string | null;
}

/** What the adaptive engine reports besides the contract's stats. */
export interface AdaptiveStats {
  /** The current epoch. */
  epoch: number;
  /** Its engine. */
  engine: EngineName;
  /** The agreed mode. */
  agreed: AgreedMode;
  /** The tally: every member's latest report, the holds, what was ignored. */
  tally: ModeTallyStats;
  /** Whether PBFT can run here, and why not. */
  pbft: { available: boolean; reason?: string };
  /** The latest switches (up to 64), oldest first. */
  switches: SwitchRecord[];
  /** The control channel's counters. */
  service: EpochServiceStats;
  /**
   * The last time an epoch's engine failed to start at a switch (kept after
   * it started, for the record): the replica tries again with backoff (100 ms
   * doubling up to 5 s) until it starts or a newer epoch takes over.
   */
  lastStartFailure?: EpochStartFailure;
}

/** An epoch's engine that did not start. */
export interface EpochStartFailure {
  /** The epoch. */
  epoch: number;
  /** Its engine. */
  engine: EngineName;
  /** What the engine's `start()` threw. */
  error: string;
  /** Attempts that failed so far. */
  attempts: number;
  /** This replica's clock at the failure. */
  atMs: number;
  /** When it tries again (undefined once it started or gave the epoch up). */
  retryAtMs?: number;
}

/** What the engine tells its subscribers. */
export type AdaptiveEvent =
  | { type: "agreed"; epoch: number; agreed: AgreedMode }
  | { type: "switched"; switch: SwitchRecord }
  | { type: "byzantine-evidence"; epoch: number; refusals: number; reasons: string[] };

/** Raft's refusals of frames that only a member holding the keys could have sealed: a member misbehaves. */
const BYZANTINE_EVIDENCE = ["invalid-message", "sender-mismatch"];

interface Epoch {
  number: number;
  engine: EngineName;
  machine: EpochMachine<unknown>;
  consensus: EpochEngine;
  /** Encoded handover that started it (undefined for epoch 0). */
  handoverBytes: Uint8Array | undefined;
  started: boolean;
  sealed: boolean;
  /** Resolves when the epoch is sealed (or retired by an adoption): waits on it stop, and go on in the next epoch. */
  whenSealed: Promise<typeof SEALED>;
  markSealed: () => void;
  switchRecord?: SwitchRecord;
}

/** What a wait on a sealed epoch gives instead of the engine's answer. */
const SEALED = Symbol("sealed");

interface Lane {
  clientId: string;
  sequence: number;
}

const MAX_SWITCH_RECORDS = 64;
/** The epochs ahead of this replica's for which a connection may wait until their engine listens (besides its own). */
const PENDING_EPOCHS = 4;

/** How long a relayed force may take to reach this replica's tally before it is sent again. */
const RELAY_RESEND_MS = 250;

/** The adaptive engine; see the module documentation. */
export class AdaptiveConsensus<Result = unknown> implements Consensus<Result>, ModeAgreement {
  /** Engine name. */
  readonly name = "adaptive";
  readonly #options: AdaptiveConsensusOptions<Result>;
  readonly #logger: Logger;
  readonly #members: NodeId[];
  readonly #faultTolerance: number;
  readonly #pbft: { available: boolean; reason?: string };
  readonly #app: DeduplicatingStateMachine<Result>;
  readonly #tally: ModeTally;
  /** The channel keys bound to the tally's settings. */
  readonly #keys: PeerKeys;
  readonly #channels: TransportChannels;
  readonly #timeoutMs: number;
  #service: EpochService | undefined;
  #current: Epoch | undefined;
  #retiring = new Set<Epoch>();
  /** Timers of retirements and of engine start retries, cleared at close. */
  #timers = new Set<TimerId>();
  #switches: SwitchRecord[] = [];
  #lastStartFailure: EpochStartFailure | undefined;
  #switchChain: Promise<void> = Promise.resolve();
  #epochWaiters = new Set<() => void>();
  #listeners = new Set<(event: AdaptiveEvent) => void>();
  #lanes: Lane[] = [];
  #lanesMade = 0;
  #clientPrefix: string;
  #startedAtMs = 0;
  #lastEntryAtMs = -Infinity;
  #reportTimer: TimerId | undefined;
  #evidenceTimer: TimerId | undefined;
  /** When this replica last asked for the Byzantine fallback (undefined: never). */
  #fallbackAskedAtMs: number | undefined;
  /** Evidence refusals seen so far, per epoch, so only new ones count. */
  #evidenceSeen = new Map<number, number>();
  #closed = false;

  /** A stopped replica; call {@linkcode AdaptiveConsensus.start}. */
  constructor(options: AdaptiveConsensusOptions<Result>) {
    if (!options.peers[options.id]) {
      throw new ConsensusError(
        "INVALID_ARGUMENT",
        `peers must include this replica's own address (peers.${options.id})`,
      );
    }
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#members = Object.keys(options.peers).sort();
    this.#faultTolerance = Math.floor((this.#members.length - 1) / 3);
    this.#pbft = !options.engines.pbft
      ? { available: false, reason: "no PBFT engine was given" }
      : this.#members.length < 4
      ? {
        available: false,
        reason: `PBFT needs at least 4 replicas (3f + 1), this cluster has ${this.#members.length}`,
      }
      : { available: true };
    this.#app = new DeduplicatingStateMachine(options.stateMachine, { ...options.deduplication, logger: this.#logger });
    this.#tally = new ModeTally({
      members: this.#members,
      faultTolerance: this.#faultTolerance,
      thresholds: options.thresholds ?? resolveConfig(),
      initialMode: options.initialMode,
      cooldownMs: options.cooldownMs,
    });
    // Every replica must decide alike from the same log: the channels are keyed by the tally's settings too, so a
    // member configured otherwise (other thresholds, another cooldown) is cut off from the others, its frames
    // refused as unauthenticated, instead of deciding apart from them.
    this.#keys = tallyBoundKeys(options);
    // Connections may wait only for the control channel, this epoch's and the next few (peers start them
    // milliseconds apart), not for any channel a stranger names.
    this.#channels = new TransportChannels(options.transport, {
      clock: options.clock,
      admitPending: (channel) =>
        channel === MAX_CHANNEL || (channel >= this.epoch && channel <= this.epoch + PENDING_EPOCHS),
    });
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#clientPrefix = options.clientPrefix ?? `${options.id}~${crypto.randomUUID().slice(0, 8)}`;
  }

  /** The engine that serves `mode` here: PBFT for `internet` when it can run, Raft otherwise. */
  engineFor(mode: Mode): EngineName {
    return mode === "internet" && this.#pbft.available ? "pbft" : "raft";
  }

  /** The agreed mode now. */
  get agreed(): AgreedMode {
    return this.#tally.agreed;
  }

  /** The current epoch's number. */
  get epoch(): number {
    return this.#current?.number ?? 0;
  }

  /** Calls `listener` with every agreed mode and switch; returns the unsubscribe function. */
  subscribe(listener: (event: AdaptiveEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts the newest epoch on disk (restoring its handover), the control channel, and the reports. */
  async start(): Promise<void> {
    this.#startedAtMs = this.#options.clock.now();
    const handover = await this.#options.handovers.latest();
    this.#service = new EpochService({
      id: this.#options.id,
      peers: this.#options.peers,
      transport: this.#channels.channel(MAX_CHANNEL),
      keys: this.#keys,
      clock: this.#options.clock,
      startedAtMs: this.#startedAtMs,
      maxClockSkewMs: this.#options.maxClockSkewMs,
      faultTolerance: this.#faultTolerance,
      statusIntervalMs: this.#options.statusIntervalMs ?? 250,
      currentEpoch: () => this.epoch,
      currentHandover: () => this.#current?.handoverBytes,
      adopt: (fetched) => this.#adopt(fetched),
      relayed: (from, entry) => this.#relayed(from, entry),
      reportEveryMs: this.#options.reportEveryMs,
      logger: this.#logger,
    });
    await this.#startEpoch(handover, undefined);
    this.#discardBefore(this.epoch);
    await this.#service.start();
    if (this.#options.measure) this.#scheduleReport();
    if (this.#options.byzantineFallback !== false && this.#pbft.available) this.#watchEvidence();
  }

  /** Proposes a command; it executes once, whichever epoch commits it (see the contract). */
  async propose(command: Uint8Array, options: ProposeOptions = {}): Promise<Committed<Result>> {
    const given = clientRequestOf(options);
    const deadline = this.#deadline(options);
    for (let attempt = 0;; attempt++) {
      const lane = given ? undefined : this.#takeLane();
      const request = given ?? { clientId: lane!.clientId, sequence: ++lane!.sequence };
      const entry = encodeEntry({ kind: "command", bytes: encodeClientCommand(command, request) });
      const trace = { uncertain: false };
      const result = await this.#submit(entry, deadline, options.signal, trace); // on failure the lane is dropped
      if (result.kind !== "command") {
        throw new ConsensusError("PROPOSAL_DROPPED", `the epoch machine answered ${result.kind} to a command`);
      }
      const { outcome } = result;
      if (outcome.ok) {
        if (lane) this.#lanes.push(lane);
        return outcome.committed as Committed<Result>;
      }
      // A lane the table no longer knows (evicted) never executed this command, unless an earlier attempt's outcome
      // was unknown: that one may have executed before the lane was evicted, so once more only when none was.
      if ((outcome.error as ConsensusError).code === "UNKNOWN_CLIENT" && lane && attempt === 0) {
        if (trace.uncertain) {
          throw new ConsensusError("CONSENSUS_TIMEOUT", "the outcome is unknown: an earlier attempt may have executed");
        }
        continue;
      }
      throw outcome.error; // the lane is dropped: a fresh one starts clean
    }
  }

  /** A linearizable read barrier, across epochs: a read answered by an epoch that was sealed meanwhile is read again in the next. */
  async read(options: ConsensusCallOptions = {}): Promise<void> {
    const deadline = this.#deadline(options);
    for (;;) {
      const epoch = await this.#activeEpoch(deadline, options.signal);
      try {
        const inner = epoch.consensus.read({ timeoutMs: this.#remaining(deadline), signal: options.signal });
        inner.catch(() => {}); // as for proposals
        await Promise.race([inner, epoch.whenSealed]);
      } catch (error) {
        if (this.#closed || !isSealed(epoch)) throw error;
        continue;
      }
      if (!isSealed(epoch)) return;
    }
  }

  /**
   * Puts this replica's medians in the adaptive log. On a Raft follower the
   * report is relayed to the leader, which proposes it; resolves with how
   * it went.
   */
  report(summary: NetworkSample, options: ConsensusCallOptions = {}): Promise<"committed" | "relayed"> {
    const entry = encodeEntry({ kind: "report", member: this.#options.id, atMs: this.#entryTime(), summary });
    return this.#submitMemberEntry(entry, options);
  }

  /**
   * Asks, for this replica's operator, that the cluster be held in `mode`
   * (or released, with `null`). A hold takes effect once `f + 1` members ask
   * for the same mode. Resolves once the request is in this replica's
   * tally: a Raft follower relays it to the leader and sends it again until
   * it applied it (a leader that lost its place before proposing it drops
   * it), or rejects at the deadline: `CONSENSUS_TIMEOUT`, or the engine's
   * last refusal (`NOT_LEADER` while no leader is known, `PROPOSAL_DROPPED`).
   */
  async force(mode: Mode | null, reason: string, options: ConsensusCallOptions = {}): Promise<"committed"> {
    const deadline = this.#deadline(options);
    const atMs = this.#entryTime();
    const entry = encodeEntry({ kind: "force", member: this.#options.id, atMs, mode, reason });
    const applied = () => (this.#tally.appliedAt(this.#options.id, "force") ?? -Infinity) >= atMs;
    for (;;) {
      const outcome = await this.#submitMemberEntry(entry, { ...options, timeoutMs: this.#remaining(deadline) });
      if (outcome === "committed") return outcome;
      const resendAt = Math.min(deadline, this.#options.clock.now() + RELAY_RESEND_MS);
      while (!applied() && this.#options.clock.now() < resendAt && !options.signal?.aborted) {
        await sleep(this.#options.clock, 10, options.signal).catch(() => {});
      }
      if (applied()) return "committed";
      if (this.#closed) throw this.#closedError();
      if (options.signal?.aborted || this.#options.clock.now() >= deadline) {
        throw new ConsensusError(
          "CONSENSUS_TIMEOUT",
          "the force was relayed to the leader and did not reach the log in time",
        );
      }
    }
  }

  /** Membership changes are not supported across epochs yet: refused with `INVALID_ARGUMENT`. */
  addMember(id: NodeId): Promise<void> {
    return Promise.reject(
      new ConsensusError("INVALID_ARGUMENT", `consensus-adaptive cannot add ${id}: membership is fixed across epochs`),
    );
  }

  /** Membership changes are not supported across epochs yet: refused with `INVALID_ARGUMENT`. */
  removeMember(id: NodeId): Promise<void> {
    return Promise.reject(
      new ConsensusError(
        "INVALID_ARGUMENT",
        `consensus-adaptive cannot remove ${id}: membership is fixed across epochs`,
      ),
    );
  }

  /** Hands leadership to `id` in the current epoch's engine. */
  async transferLeadership(id: NodeId, options: ConsensusCallOptions = {}): Promise<void> {
    const epoch = await this.#activeEpoch(this.#deadline(options), options.signal);
    await epoch.consensus.transferLeadership(id, options);
  }

  /** Snapshots the current epoch's engine; the position is in the adaptive log. */
  async snapshot(): Promise<LogPosition> {
    const epoch = await this.#activeEpoch(this.#deadline({}), undefined);
    const position = await epoch.consensus.snapshot();
    return { ...position, index: epoch.machine.globalIndex(position.index) };
  }

  /** The current epoch's engine's stats, with indices in the adaptive log; not healthy while switching. */
  stats(): ConsensusStats {
    const epoch = this.#current;
    const inner = epoch?.started ? epoch.consensus.stats() : undefined;
    const global = (index: number | undefined) => epoch?.machine.globalIndex(index ?? 0) ?? 0;
    return {
      engine: this.name,
      nodeId: this.#options.id,
      role: inner?.role ?? "follower",
      term: inner?.term ?? 0,
      leaderId: inner?.leaderId ?? null,
      members: [...this.#members],
      commitIndex: global(inner?.commitIndex),
      appliedIndex: global(inner?.appliedIndex),
      snapshotIndex: global(inner?.snapshotIndex),
      healthy: Boolean(inner?.healthy) && !epoch!.sealed,
    };
  }

  /** The epoch, the agreed mode, the tally, PBFT's availability and the latest switches. */
  adaptiveStats(): AdaptiveStats {
    return {
      epoch: this.epoch,
      engine: this.#current?.engine ?? this.engineFor(this.#tally.agreed.mode),
      agreed: this.#tally.agreed,
      tally: this.#tally.stats(),
      pbft: { ...this.#pbft },
      switches: this.#switches.map((record) => ({ ...record })),
      service: this.#service?.stats() ??
        { handoversSent: 0, handoversReceived: 0, handoversAdopted: 0, refused: 0, rateLimited: 0 },
      ...(this.#lastStartFailure ? { lastStartFailure: { ...this.#lastStartFailure } } : {}),
    };
  }

  /** The cluster's decision, every member's latest report and the holds (the core's `ModeAgreement` view). */
  agreementStats(): ModeAgreementStats {
    const tally = this.#tally.stats();
    const { mode, reason, index, forced, summary } = tally.agreed;
    return {
      agreed: { mode, reason, index, forced, summary },
      reports: tally.reports,
      holds: tally.forces,
      engine: this.#current?.engine ?? this.engineFor(mode),
      epoch: this.epoch,
    };
  }

  /** Stops every epoch's engine and the control channel; pending calls reject with `CONSENSUS_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reportTimer !== undefined) this.#options.clock.clearTimeout(this.#reportTimer);
    if (this.#evidenceTimer !== undefined) this.#options.clock.clearTimeout(this.#evidenceTimer);
    for (const timer of this.#timers) this.#options.clock.clearTimeout(timer);
    this.#wakeEpochWaiters();
    await this.#switchChain;
    await this.#service?.close();
    const epochs = [...this.#retiring, ...(this.#current ? [this.#current] : [])];
    await Promise.all(epochs.map((epoch) => epoch.consensus.close().catch(() => {})));
    await this.#channels.close(); // connections still waiting for a hello or a channel
  }

  // ---- proposals -------------------------------------------------------------------------

  /**
   * Proposes `entry` in the current epoch, again in the next whenever an
   * epoch ends under it. Once an attempt's outcome was unknown, a later
   * failure is reported as unknown too (`CONSENSUS_TIMEOUT`): the entry may
   * have committed in the epoch that ended, even if the next one refuses it
   * (not for idempotent entries: reports and forces).
   */
  async #submit(
    entry: Uint8Array,
    deadline: number,
    signal: AbortSignal | undefined,
    trace?: { uncertain: boolean; idempotent?: boolean },
  ): Promise<EpochResult<Result>> {
    let uncertainIn: number | undefined;
    for (;;) {
      let epoch: Epoch;
      let committed: Committed<EpochResult<unknown>>;
      try {
        epoch = await this.#activeEpoch(deadline, signal);
      } catch (error) {
        throw uncertainIn === undefined || trace?.idempotent ? error : unknownOutcome(error, uncertainIn);
      }
      try {
        // A proposal not committed when its epoch seals never will be there (entries after the seal are not
        // applied): stop waiting and propose it again in the next epoch at once, under the same identity.
        const inner = epoch.consensus.propose(entry, { timeoutMs: this.#remaining(deadline), signal });
        inner.catch(() => {}); // when the seal wins the race, nobody waits for this answer any more
        const answer = await Promise.race([inner, epoch.whenSealed]);
        if (answer === SEALED) {
          uncertainIn = epoch.number;
          if (trace) trace.uncertain = true;
          continue;
        }
        committed = answer;
      } catch (error) {
        if (this.#closed) throw this.#closedError();
        if (isSealed(epoch) && isUnknownOutcome(error)) {
          uncertainIn = epoch.number;
          if (trace) trace.uncertain = true;
          continue; // the same identity again: at most once
        }
        throw uncertainIn === undefined || trace?.idempotent ? error : unknownOutcome(error, uncertainIn);
      }
      const result = committed.result as EpochResult<Result>;
      if (result.kind === "sealed") continue;
      const record = epoch.switchRecord;
      if (record && record.firstCommitAtMs === undefined) record.firstCommitAtMs = this.#options.clock.now();
      return result;
    }
  }

  /** Proposes a report or force; a Raft follower relays it to the leader, and waits for one while there is none. */
  async #submitMemberEntry(entry: Uint8Array, options: ConsensusCallOptions): Promise<"committed" | "relayed"> {
    const deadline = this.#deadline(options);
    for (;;) {
      try {
        // Reports and forces are idempotent (the tally ignores one it already has): any error may be taken at its word.
        const result = await this.#submit(entry, deadline, options.signal, { uncertain: false, idempotent: true });
        if (result.kind === "invalid") throw new ConsensusError("INVALID_ARGUMENT", result.message);
        return "committed";
      } catch (error) {
        const { code, leaderHint } = error as ConsensusError;
        if (code === "NOT_LEADER" && leaderHint && this.#service) {
          this.#service.relay(leaderHint, entry);
          return "relayed";
        }
        // No leader yet (an election is under way), or the one that took it lost its place: idempotent, so again.
        if (code !== "NOT_LEADER" && code !== "PROPOSAL_DROPPED") throw error;
        if (this.#options.clock.now() + 10 >= deadline || options.signal?.aborted) throw error;
        await sleep(this.#options.clock, 10, options.signal).catch(() => {});
      }
    }
  }

  /** A follower's report or force, relayed on the control channel: the leader proposes it if it is the sender's own. */
  #relayed(from: NodeId, bytes: Uint8Array): void {
    let member: string;
    try {
      const entry = decodeEntry(bytes);
      if (entry.kind === "command") return;
      member = entry.member;
    } catch {
      return;
    }
    const epoch = this.#current;
    if (member !== from || !epoch?.started || epoch.sealed || epoch.engine !== "raft") return;
    if (epoch.consensus.stats().role !== "leader") return;
    epoch.consensus.propose(bytes, { timeoutMs: this.#timeoutMs }).catch(() => {});
  }

  #scheduleReport(): void {
    this.#reportTimer = this.#options.clock.setTimeout(() => {
      if (this.#closed) return;
      const summary = this.#options.measure?.();
      if (summary) this.report(summary).catch((error) => this.#logger.debug("report failed", { error: String(error) }));
      this.#scheduleReport();
    }, this.#options.reportEveryMs ?? 1_000);
  }

  /**
   * In hybrid mode on Raft, looks at the engine's refusals every status
   * interval: new evidence of a Byzantine member makes this replica ask for
   * internet mode (see `byzantineFallback`).
   */
  #watchEvidence(): void {
    this.#evidenceTimer = this.#options.clock.setTimeout(() => {
      if (this.#closed) return;
      this.#checkEvidence();
      this.#watchEvidence();
    }, this.#options.statusIntervalMs ?? 250);
  }

  #checkEvidence(): void {
    const epoch = this.#current;
    if (!epoch?.started || epoch.sealed || epoch.engine !== "raft") return;
    const rejections = (epoch.consensus.stats() as { peerRejections?: Record<string, number> }).peerRejections;
    if (!rejections) return;
    const reasons = BYZANTINE_EVIDENCE.filter((reason) => (rejections[reason] ?? 0) > 0);
    const total = BYZANTINE_EVIDENCE.reduce((sum, reason) => sum + (rejections[reason] ?? 0), 0);
    const seen = this.#evidenceSeen.get(epoch.number) ?? 0;
    const agreed = this.#tally.agreed;
    const asked = this.#tally.stats().forces[this.#options.id] === "internet";
    if (total <= seen) {
      // Asked before and not on record yet (a relay the leader dropped, a proposal that failed): ask again, at most
      // once a second, until the cluster's log holds it.
      const now = this.#options.clock.now();
      if (
        this.#fallbackAskedAtMs !== undefined && !asked && agreed.mode === "hybrid" &&
        now - this.#fallbackAskedAtMs >= 1_000
      ) {
        this.#fallbackAskedAtMs = now;
        this.force("internet", "Byzantine evidence on Raft (asked again)").catch(() => {});
      }
      return;
    }
    this.#evidenceSeen.set(epoch.number, total);
    if (agreed.mode !== "hybrid" || asked) return;
    this.#fallbackAskedAtMs = this.#options.clock.now();
    this.#emit({ type: "byzantine-evidence", epoch: epoch.number, refusals: total - seen, reasons });
    this.#logger.warn("Byzantine evidence on Raft in hybrid mode: asking the cluster to fall back to PBFT", {
      epoch: epoch.number,
      refusals: total - seen,
      reasons,
    });
    this.force("internet", `Byzantine evidence on Raft: ${total - seen} refused (${reasons.join(", ")})`).catch(
      (error) =>
        this.#logger.warn("the fallback's request failed; it is asked again in a second", {
          error: String(error),
        }),
    );
  }

  #takeLane(): Lane {
    return this.#lanes.pop() ?? { clientId: `${this.#clientPrefix}~${++this.#lanesMade}`, sequence: 0 };
  }

  /** A time for this replica's next entry: its clock, but always later than its previous entry. */
  #entryTime(): number {
    this.#lastEntryAtMs = Math.max(this.#options.clock.now(), this.#lastEntryAtMs + 1);
    return this.#lastEntryAtMs;
  }

  #deadline(options: ConsensusCallOptions): number {
    return this.#options.clock.now() + (options.timeoutMs ?? this.#timeoutMs);
  }

  #remaining(deadline: number): number {
    return Math.max(1, deadline - this.#options.clock.now());
  }

  #closedError(): ConsensusError {
    return new ConsensusError("CONSENSUS_CLOSED", `adaptive replica ${this.#options.id} is closed`);
  }

  /** The current epoch once it runs and is not sealed; waits through a switch until `deadline`. */
  async #activeEpoch(deadline: number, signal: AbortSignal | undefined): Promise<Epoch> {
    for (;;) {
      if (this.#closed) throw this.#closedError();
      const epoch = this.#current;
      if (epoch?.started && !isSealed(epoch)) return epoch;
      const left = deadline - this.#options.clock.now();
      if (left <= 0 || signal?.aborted) {
        const failure = this.#lastStartFailure;
        const why = failure?.epoch === epoch?.number && failure?.retryAtMs !== undefined
          ? `its engine did not start: ${failure.error}; attempt ${failure.attempts} failed, trying again`
          : "is switching";
        throw new ConsensusError(
          "CONSENSUS_TIMEOUT",
          `no epoch ready within the time allowed (epoch ${this.epoch} ${why})`,
        );
      }
      await new Promise<void>((resolve) => {
        const finish = () => {
          this.#options.clock.clearTimeout(timer);
          signal?.removeEventListener("abort", finish);
          this.#epochWaiters.delete(finish);
          resolve();
        };
        const timer = this.#options.clock.setTimeout(finish, left);
        signal?.addEventListener("abort", finish, { once: true });
        this.#epochWaiters.add(finish);
      });
    }
  }

  #wakeEpochWaiters(): void {
    for (const wake of [...this.#epochWaiters]) wake();
  }

  // ---- epochs ----------------------------------------------------------------------------

  /**
   * Starts the epoch `handover` begins (epoch 0 without one), restoring the
   * handover before its engine replays. At `start()` a failure throws; at a
   * switch the replica cannot stay behind, so an engine that fails to start
   * is closed and made again after a backoff ({@linkcode AdaptiveStats.lastStartFailure});
   * the result says whether it runs now.
   */
  async #startEpoch(
    handover: Handover | undefined,
    record: SwitchRecord | undefined,
    attempt = 1,
  ): Promise<boolean> {
    const number = handover ? handover.epoch + 1 : 0;
    const engine = handover ? handover.next : this.engineFor(this.#tally.agreed.mode);
    const machine = new EpochMachine<unknown>({
      epoch: number,
      engine,
      engineFor: (mode) => this.engineFor(mode),
      app: this.#app as DeduplicatingStateMachine<unknown>,
      tally: this.#tally,
      baseIndex: handover?.nextBaseIndex ?? 0,
      authenticatedProposers: engine === "pbft",
    });
    if (handover) machine.restore(handover.state);
    const factory = engine === "pbft" ? this.#options.engines.pbft! : this.#options.engines.raft;
    const consensus = factory({
      epoch: number,
      engine,
      transport: this.#channels.channel(number),
      keys: epochKeys(this.#keys, number),
      startedAtMs: this.#startedAtMs,
      stateMachine: machine,
      ...(handover?.firstLeader && this.#members.includes(handover.firstLeader)
        ? { firstLeader: handover.firstLeader }
        : {}),
    });
    let markSealed!: () => void;
    const whenSealed = new Promise<typeof SEALED>((resolve) => markSealed = () => resolve(SEALED));
    const epoch: Epoch = {
      number,
      engine,
      machine,
      consensus,
      handoverBytes: handover && encodeHandover(handover),
      started: false,
      sealed: false,
      whenSealed,
      markSealed,
      switchRecord: record,
    };
    machine.onAgreed = (agreed) => this.#emit({ type: "agreed", epoch: number, agreed });
    machine.onSealed = (sealed) => this.#sealed(epoch, sealed);
    this.#current = epoch;
    // With the epoch it starts, so stats never show one without the other.
    if (record && attempt === 1) this.#keepSwitch(record);
    this.#logger.info("epoch starting", { epoch: number, engine, baseIndex: handover?.nextBaseIndex ?? 0 });
    try {
      await consensus.start();
    } catch (error) {
      if (!handover) throw error; // epoch 0, at start(): the caller hears it
      this.#startFailed(epoch, handover, record, attempt, error);
      return false;
    }
    epoch.started = true;
    // Running now, or a newer epoch took over: no retry is due.
    if (this.#lastStartFailure && this.#lastStartFailure.epoch <= number) this.#lastStartFailure.retryAtMs = undefined;
    // With a first leader agreed, it alone leads term 1 (a campaign by anyone else would depose it, and the writes it
    // took would wait for their indices to be overwritten); without one, the replica that led before campaigns.
    const firstLeader = handover?.firstLeader && this.#members.includes(handover.firstLeader);
    if (!firstLeader && record?.previousLeader === this.#options.id) this.#campaign(epoch);
    if (record) record.startedAtMs = this.#options.clock.now();
    this.#wakeEpochWaiters();
    this.#service?.announce();
    return true;
  }

  /** An epoch's engine did not start at a switch: close it, say so, and make it again after a backoff. */
  #startFailed(epoch: Epoch, handover: Handover, record: SwitchRecord | undefined, attempt: number, error: unknown) {
    const backoffMs = Math.min(5_000, 100 * 2 ** (attempt - 1));
    const now = this.#options.clock.now();
    this.#lastStartFailure = {
      epoch: epoch.number,
      engine: epoch.engine,
      error: error instanceof Error ? error.message : String(error),
      attempts: attempt,
      atMs: now,
      retryAtMs: now + backoffMs,
    };
    this.#logger.error("epoch engine did not start; trying again", { ...this.#lastStartFailure });
    epoch.consensus.close().catch(() => {});
    const timer = this.#options.clock.setTimeout(() => {
      this.#timers.delete(timer);
      this.#enqueueSwitch(async () => {
        if (this.#closed || this.#current !== epoch) return; // closed, or a newer epoch took over
        if (await this.#startEpoch(handover, record, attempt + 1) && record) this.#announceSwitch(record);
      });
    }, backoffMs);
    this.#timers.add(timer);
  }

  /**
   * Without an agreed first leader, the replica that led the epoch before campaigns in a new one at once, and
   * again (a pre-vote each time, so it disturbs nobody) whenever it is back
   * to follower without a leader, until the epoch has a leader or a second
   * has passed; then the engine's own timeouts rule.
   */
  #campaign(epoch: Epoch): void {
    const campaign = epoch.consensus.campaign?.bind(epoch.consensus);
    if (!campaign) return;
    const deadline = this.#options.clock.now() + 1_000;
    const attempt = () => {
      if (this.#closed || this.#current !== epoch || epoch.sealed) return;
      if (epoch.consensus.stats().leaderId !== null || this.#options.clock.now() > deadline) return;
      campaign();
      this.#options.clock.setTimeout(attempt, 5);
    };
    attempt();
  }

  /** The epoch applied its seal: keep the handover, start the next epoch, let the old engine serve laggards a while. */
  #sealed(epoch: Epoch, handover: Handover): void {
    if (epoch !== this.#current || epoch.sealed) return;
    epoch.sealed = true;
    epoch.markSealed();
    epoch.machine.retire(); // from now on the shared machines belong to the next epoch
    epoch.consensus.heartbeat?.(); // a leader tells its followers the commit that seals, now
    const record: SwitchRecord = {
      fromEpoch: epoch.number,
      toEpoch: epoch.number + 1,
      from: epoch.engine,
      to: handover.next,
      agreed: handover.agreed,
      how: "sealed",
      sealedAtMs: this.#options.clock.now(),
      previousLeader: epoch.consensus.stats().leaderId,
    };
    this.#logger.info("epoch sealed", {
      epoch: epoch.number,
      at: handover.nextBaseIndex,
      next: handover.next,
      mode: handover.agreed.mode,
      reason: handover.agreed.reason,
    });
    this.#enqueueSwitch(async () => {
      // A newer epoch may have been adopted from peers meanwhile: then this seal is old news.
      if (this.#closed || this.#current !== epoch) return;
      await this.#options.handovers.save(handover);
      if (this.#closed || this.#current !== epoch) return;
      this.#retireLater(epoch);
      if (await this.#startEpoch(handover, record)) this.#announceSwitch(record);
    });
  }

  /** A newer epoch's handover, agreed by `f + 1` peers: this replica missed a switch. */
  #adopt(handover: Handover): void {
    this.#enqueueSwitch(async () => {
      const old = this.#current;
      if (
        this.#closed || !old || handover.epoch + 1 <= old.number || old.sealed && handover.epoch + 1 === old.number + 1
      ) {
        return; // not newer, or this replica is switching to that epoch itself
      }
      old.sealed = true;
      old.markSealed();
      old.machine.retire();
      const record: SwitchRecord = {
        fromEpoch: old.number,
        toEpoch: handover.epoch + 1,
        from: old.engine,
        to: handover.next,
        agreed: handover.agreed,
        how: "fetched",
        sealedAtMs: this.#options.clock.now(),
      };
      this.#logger.info("joining a newer epoch from peers' handover", { from: old.number, to: handover.epoch + 1 });
      await old.consensus.close().catch(() => {});
      await this.#options.handovers.save(handover);
      if (this.#closed) return;
      if (await this.#startEpoch(handover, record)) this.#announceSwitch(record);
      this.#discardBefore(handover.epoch + 1);
    });
  }

  #enqueueSwitch(step: () => Promise<void>): void {
    this.#switchChain = this.#switchChain.then(step).catch((error) => {
      this.#logger.error("switching epochs failed", { error: String(error) });
    });
  }

  #keepSwitch(record: SwitchRecord): void {
    this.#switches.push(record);
    if (this.#switches.length > MAX_SWITCH_RECORDS) this.#switches.shift();
  }

  /** The new epoch runs: tell the subscribers. */
  #announceSwitch(record: SwitchRecord): void {
    this.#emit({ type: "switched", switch: record });
  }

  /**
   * Closes a sealed epoch's engine once every peer runs a newer epoch (the
   * control channel's status says so), or after the grace period at the
   * latest: an engine left running with nothing to do may still act on its
   * own timers (a PBFT backup whose request timed out starts a view change).
   */
  #retireLater(epoch: Epoch): void {
    this.#retiring.add(epoch);
    const deadline = this.#options.clock.now() + (this.#options.graceMs ?? 2_000);
    const check = () => {
      this.#timers.delete(timer);
      if (!this.#retiring.has(epoch)) return;
      const everyoneMovedOn = this.#service?.peersReached(epoch.number + 1) ?? false;
      if (!everyoneMovedOn && this.#options.clock.now() < deadline) {
        timer = this.#options.clock.setTimeout(check, Math.min(50, Math.max(1, deadline - this.#options.clock.now())));
        this.#timers.add(timer);
        return;
      }
      this.#retiring.delete(epoch);
      epoch.consensus.close().catch(() => {}).then(() => this.#discardBefore(epoch.number + 1));
    };
    let timer = this.#options.clock.setTimeout(check, 50);
    this.#timers.add(timer);
  }

  /** Lets the logs of the epochs below `epoch` go, unless an engine of one of them still runs. */
  #discardBefore(epoch: number): void {
    if (!this.#options.discardEpochsBefore || this.#closed) return;
    const still = [...this.#retiring].map((retiring) => retiring.number).filter((number) => number < epoch);
    const before = Math.min(epoch, ...still);
    this.#options.discardEpochsBefore(before).catch((error) =>
      this.#logger.warn("removing old epochs' logs failed", { before, error: String(error) })
    );
  }

  #emit(event: AdaptiveEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.warn("an adaptive event listener threw", { error: String(error) });
      }
    }
  }
}

/** Sealed, or its machine reached the seal and the switch has not been told yet (a restore announces it a moment later). */
function isSealed(epoch: Epoch): boolean {
  return epoch.sealed || epoch.machine.handover !== undefined;
}

/** A failure after an attempt whose outcome is unknown: the whole proposal's outcome is unknown. */
function unknownOutcome(error: unknown, epoch: number): ConsensusError {
  return new ConsensusError(
    "CONSENSUS_TIMEOUT",
    `the outcome is unknown: an attempt in epoch ${epoch} may have committed, then ${(error as Error).message}`,
  );
}

/** Errors after which a proposal may or may not have committed in its epoch. */
function isUnknownOutcome(error: unknown): boolean {
  const code = (error as ConsensusError).code;
  return code === "CONSENSUS_CLOSED" || code === "CONSENSUS_TIMEOUT" || code === "PROPOSAL_DROPPED" ||
    code === "NOT_LEADER";
}

/**
 * The channel keys a replica with `options` speaks with: its `channelKeys`
 * bound to its tally's settings (members, thresholds, initial mode,
 * cooldown), so that only members that decide alike authenticate each
 * other. For tools and tests that speak for a member.
 */
export function tallyBoundKeys(
  options: Pick<
    AdaptiveConsensusOptions<unknown>,
    "channelKeys" | "peers" | "thresholds" | "initialMode" | "cooldownMs"
  >,
): PeerKeys {
  const members = Object.keys(options.peers).sort();
  const settings = tallySettings({
    members,
    faultTolerance: Math.floor((members.length - 1) / 3),
    thresholds: options.thresholds ?? resolveConfig(),
    initialMode: options.initialMode,
    cooldownMs: options.cooldownMs,
  });
  return labelledKeys(options.channelKeys, `switchyard tally ${settings}`);
}

/** The tally's settings as a stable text: what every member must share to decide alike. */
function tallySettings(options: {
  members: readonly string[];
  faultTolerance: number;
  thresholds: Thresholds;
  initialMode?: Mode;
  cooldownMs?: number;
}): string {
  const { thresholds } = options;
  return JSON.stringify({
    members: [...options.members].sort(),
    faultTolerance: options.faultTolerance,
    initialMode: options.initialMode ?? "datacenter",
    cooldownMs: options.cooldownMs ?? null,
    thresholds: [
      thresholds.datacenterLatencyThresholdMs,
      thresholds.datacenterBandwidthThresholdMbps,
      thresholds.datacenterLossThreshold,
      thresholds.internetLatencyThresholdMs,
      thresholds.internetBandwidthThresholdMbps,
      thresholds.internetLossThreshold,
      thresholds.hysteresis,
    ],
  });
}
