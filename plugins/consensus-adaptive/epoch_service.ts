/**
 * The adaptive engine's control channel between replicas, beside the
 * epochs' engines (its own transport channel, frames sealed by the peer-auth
 * kit under the replicas' base keys):
 *
 * - **status**: every `statusIntervalMs` each replica tells every peer the
 *   epoch it runs;
 * - **handover**: a replica that hears a lower epoch than its own answers
 *   with the handover that starts its epoch (at most once a second per
 *   peer). A replica that was down across a switch, or missed the seal,
 *   takes a newer epoch's handover once `f + 1` peers sent the same bytes
 *   (at least one of them correct), and joins that epoch;
 * - **relay**: a Raft follower's own report or force, sent to the leader,
 *   which proposes it (only for the member that sent it: the channel
 *   authenticates the sender).
 *
 * Memory stays bounded: one handover kept per peer, frames no larger than
 * the transport's limit (a handover larger than that cannot be fetched; the
 * replica logs it and catches up only through its engine). Work stays
 * bounded too: each member's relays (twice the members' report pace, plus
 * 32 at once and 16 a second for forces and retries: {@linkcode relayRate})
 * and handovers (4 at once, 2 a second) past its rate are dropped and
 * counted (`rateLimited`), so a member holding the keys cannot make the
 * others propose or decode as fast as it can send.
 *
 * @module
 */
import type { NodeId } from "../../core/contracts/consensus.ts";
import type { Transport, TransportListener } from "../../core/contracts/transport.ts";
import type { Clock, TimerId } from "../../core/util/clock.ts";
import { PeerRate } from "./peer_rate.ts";
import type { Logger } from "../../core/util/logger.ts";
import { InboundConnections } from "../consensus-kit/inbound.ts";
import { PeerSender } from "../consensus-raft/peer_sender.ts";
import { PeerAuthenticator } from "../peer-auth/authenticator.ts";
import type { PeerKeys } from "../peer-auth/keys.ts";
import type { Handover } from "./epoch_machine.ts";
import { decodeHandover, handoverDigest } from "./handover_store.ts";

const STATUS = 1;
const HANDOVER = 2;
const RELAY = 3;
const HANDOVER_EVERY_MS = 1_000;

/** What the epoch service needs. */
export interface EpochServiceOptions {
  /** This replica. */
  id: NodeId;
  /** Every member's address on the control channel's transport. */
  peers: Record<NodeId, string>;
  /** The control channel. */
  transport: Transport;
  /** The replicas' base pair keys. */
  keys: PeerKeys;
  /** Time source. */
  clock: Clock;
  /** When this process started (see the peer-auth kit's `startedAtMs`). */
  startedAtMs: number;
  /** Largest clock difference between replicas, ms (default 250). */
  maxClockSkewMs?: number;
  /** Byzantine replicas tolerated: a handover is taken from `faultTolerance + 1` matching peers. */
  faultTolerance: number;
  /** How often to tell the peers this replica's epoch, ms. */
  statusIntervalMs: number;
  /** The epoch this replica runs now. */
  currentEpoch(): number;
  /** The encoded handover that started the current epoch (undefined in epoch 0). */
  currentHandover(): Uint8Array | undefined;
  /** Called with a newer epoch's handover that `faultTolerance + 1` peers agree on. */
  adopt(handover: Handover): void;
  /** Called with an entry a follower relayed; `from` is authenticated. */
  relayed(from: NodeId, entry: Uint8Array): void;
  /**
   * How often members report (ms; default 1000): each member's relays are
   * rate-limited to twice that pace plus room for forces and retries.
   */
  reportEveryMs?: number;
  /** Where to log. */
  logger: Logger;
}

/** Counters of the epoch service. */
export interface EpochServiceStats {
  /** Handovers sent to peers that were behind. */
  handoversSent: number;
  /** Handovers received from peers. */
  handoversReceived: number;
  /** Handovers taken (a newer epoch joined through the service). */
  handoversAdopted: number;
  /** Frames refused: unauthenticated, malformed, or undecodable handovers. */
  refused: number;
  /** Relayed entries and handovers dropped because their sender sent them faster than its rate allows. */
  rateLimited: number;
}

/**
 * What one member may relay besides its reports: a force again every 250 ms
 * until it is on record, a report at each local switch, and each of them
 * once more after a dropped proposal; 32 at once and 16 a second leave that
 * room. Reports add twice their pace (see {@linkcode relayRate}).
 */
const RELAY_BURST = 32, RELAYS_PER_SECOND = 16;
/** What one member may hand over: a peer that is behind gets one when asked, at most every few hundred ms. */
const HANDOVER_BURST = 4, HANDOVERS_PER_SECOND = 2;

/** The relays one member may send at once and per second when members report every `reportEveryMs`. */
export function relayRate(reportEveryMs: number): { burst: number; perSecond: number } {
  const reportsPerSecond = 1000 / reportEveryMs;
  return { burst: RELAY_BURST + Math.ceil(2 * reportsPerSecond), perSecond: RELAYS_PER_SECOND + 2 * reportsPerSecond };
}

/** The control channel of one replica; see the module documentation. */
export class EpochService {
  readonly #options: EpochServiceOptions;
  readonly #auth: PeerAuthenticator;
  readonly #sender: PeerSender;
  readonly #inbound: InboundConnections;
  readonly #offered = new Map<NodeId, { epoch: number; digest: string; handover: Handover }>();
  readonly #lastSentMs = new Map<NodeId, number>();
  readonly #peerEpochs = new Map<NodeId, number>();
  readonly #stats: EpochServiceStats = {
    handoversSent: 0,
    handoversReceived: 0,
    handoversAdopted: 0,
    refused: 0,
    rateLimited: 0,
  };
  readonly #relayRate: PeerRate;
  readonly #handoverRate: PeerRate;
  #listener: TransportListener | undefined;
  #timer: TimerId | undefined;
  #closed = false;

  /** A stopped service; call {@linkcode EpochService.start}. */
  constructor(options: EpochServiceOptions) {
    this.#options = options;
    const relays = relayRate(options.reportEveryMs ?? 1000);
    this.#relayRate = new PeerRate(options.clock, relays.burst, relays.perSecond);
    this.#handoverRate = new PeerRate(options.clock, HANDOVER_BURST, HANDOVERS_PER_SECOND);
    const members = new Set(Object.keys(options.peers));
    this.#auth = new PeerAuthenticator({
      self: options.id,
      keys: options.keys,
      clock: options.clock,
      maxClockSkewMs: options.maxClockSkewMs,
      startedAtMs: options.startedAtMs,
      isPeer: (id) => id !== options.id && members.has(id),
    });
    this.#sender = new PeerSender(
      options.transport,
      options.clock,
      (id) => options.peers[id],
      (to, frame) => this.#auth.seal(to, frame),
    );
    this.#inbound = new InboundConnections({
      engine: "adaptive control",
      receive: (frame) => this.#receive(frame),
      closed: () => this.#closed,
      logger: options.logger,
    });
  }

  /** The counters. */
  stats(): EpochServiceStats {
    return { ...this.#stats };
  }

  /** Listens and starts telling the peers this replica's epoch. */
  async start(): Promise<void> {
    this.#listener = await this.#options.transport.listen(this.#options.peers[this.#options.id]);
    void this.#inbound.accept(this.#listener);
    const tick = () => {
      if (this.#closed) return;
      this.#broadcastStatus();
      this.#timer = this.#options.clock.setTimeout(tick, this.#options.statusIntervalMs);
    };
    tick();
  }

  /** Sends `entry` to `leader` for it to propose. */
  relay(leader: NodeId, entry: Uint8Array): void {
    const frame = new Uint8Array(1 + entry.byteLength);
    frame[0] = RELAY;
    frame.set(entry, 1);
    this.#sender.send(leader, frame);
  }

  /** True once every peer said it runs epoch `epoch` or a later one. */
  peersReached(epoch: number): boolean {
    return Object.keys(this.#options.peers).every((peer) =>
      peer === this.#options.id || (this.#peerEpochs.get(peer) ?? -1) >= epoch
    );
  }

  /** Tells every peer this replica's epoch now (after a switch, so laggards learn at once). */
  announce(): void {
    if (!this.#closed) this.#broadcastStatus();
  }

  /** Stops. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    await this.#listener?.close();
    await this.#inbound.closeAll();
    await this.#sender.close();
  }

  #broadcastStatus(): void {
    const frame = new Uint8Array(5);
    frame[0] = STATUS;
    new DataView(frame.buffer).setUint32(1, this.#options.currentEpoch());
    for (const peer of Object.keys(this.#options.peers)) if (peer !== this.#options.id) this.#sender.send(peer, frame);
  }

  async #receive(sealed: Uint8Array): Promise<boolean> {
    const opened = await this.#auth.open(sealed);
    if (!opened.ok) {
      this.#stats.refused++;
      return opened.reason !== "malformed" && opened.reason !== "bad-mac";
    }
    const { from, payload } = opened;
    if (this.#closed || payload.byteLength === 0) return true;
    const body = payload.subarray(1);
    switch (payload[0]) {
      case STATUS:
        if (body.byteLength !== 4) return this.#refuse();
        this.#peerEpochs.set(from, new DataView(body.buffer, body.byteOffset, 4).getUint32(0));
        this.#answerStatus(from, this.#peerEpochs.get(from)!);
        return true;
      case HANDOVER:
        if (!this.#handoverRate.take(from)) return this.#rateLimited();
        return this.#takeHandover(from, body);
      case RELAY:
        if (!this.#relayRate.take(from)) return this.#rateLimited();
        this.#options.relayed(from, body.slice());
        return true;
      default:
        return this.#refuse();
    }
  }

  #refuse(): false {
    this.#stats.refused++;
    return false;
  }

  /** A frame over its sender's rate: dropped (the connection stays: the sender is a member, only too eager). */
  #rateLimited(): true {
    this.#stats.rateLimited++;
    return true;
  }

  #answerStatus(from: NodeId, theirEpoch: number): void {
    if (theirEpoch >= this.#options.currentEpoch()) return;
    const bytes = this.#options.currentHandover();
    if (!bytes) return;
    const now = this.#options.clock.now();
    if (now - (this.#lastSentMs.get(from) ?? -Infinity) < HANDOVER_EVERY_MS) return;
    if (bytes.byteLength + 1 > this.#options.transport.maxFrameBytes - 1024) {
      this.#options.logger.error("a handover is larger than the transport's frames; a replica behind cannot fetch it", {
        peer: from,
        bytes: bytes.byteLength,
      });
      return;
    }
    this.#lastSentMs.set(from, now);
    const frame = new Uint8Array(1 + bytes.byteLength);
    frame[0] = HANDOVER;
    frame.set(bytes, 1);
    this.#sender.send(from, frame);
    this.#stats.handoversSent++;
  }

  #takeHandover(from: NodeId, bytes: Uint8Array): boolean {
    let handover: Handover;
    try {
      handover = decodeHandover(bytes);
    } catch {
      return this.#refuse();
    }
    this.#stats.handoversReceived++;
    const epoch = handover.epoch + 1;
    if (epoch <= this.#options.currentEpoch()) return true;
    const digest = handoverDigest(bytes);
    this.#offered.set(from, { epoch, digest, handover });
    let matching = 0;
    for (const offer of this.#offered.values()) if (offer.epoch === epoch && offer.digest === digest) matching++;
    if (matching >= this.#options.faultTolerance + 1) {
      this.#offered.clear();
      this.#stats.handoversAdopted++;
      this.#options.adopt(handover);
    }
    return true;
  }
}
