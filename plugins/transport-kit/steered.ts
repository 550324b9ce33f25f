/**
 * Steered connections: one connection to a peer over a path (a connection
 * of some transport), or over two while a gradual switch moves its traffic
 * from the old path to a new one, possibly over another transport, in steps
 * (10 %, 50 %, 100 % of the frames by default), each held while its health
 * is checked against the old path (`gradual.ts`). A step that degrades, or
 * a new path that fails, rolls the whole switch back; the application sees
 * one connection throughout, its frames exactly once and in order.
 *
 * How nothing is lost, duplicated or reordered: every frame carries a
 * sequence number and stays with its sender until the receiver says it has
 * delivered everything below it. The receiver delivers in sequence order
 * (frames that overtook others on the faster path wait, bounded), and drops
 * a number it has already seen. Each path also acknowledges what it carried,
 * so when a path fails or is retired, what it had not carried is sent again
 * on the other path; that is also how each path's latency and delivery are
 * measured.
 *
 * The dialing side steers ({@linkcode SteeredConnection.switchTo}); the
 * accepting side follows the shares it is told, and both resend what a lost
 * path left behind.
 *
 * @module
 */
import type { Clock, TimerId } from "../../core/util/clock.ts";
import { SwitchyardError, toError } from "../../core/util/errors.ts";
import { median } from "../../core/contracts/sample.ts";
import type {
  ConnectionStats,
  Transport,
  TransportConnection,
  TransportListener,
} from "../../core/contracts/transport.ts";
import { AsyncQueue } from "./async_queue.ts";
import { oversizedSend } from "./length_prefix.ts";
import {
  type GradualOptions,
  type GradualOptionsInput,
  judgeStep,
  type PathHealth,
  resolveGradualOptions,
} from "./gradual.ts";
import { DATA_OVERHEAD, decodeWire, encodeWire, SESSION_ID_BYTES, WIRE, type WireFrame } from "./steered_wire.ts";

/** How steered connections behave. */
export interface SteeredOptions {
  /** Time source of holds, acknowledgement delays and latencies. */
  clock: Clock;
  /** Bytes sent and not yet delivered before `send` waits (default 8 MiB); the receiver's reordering is bounded by it. */
  maxUnackedBytes?: number;
  /** Acknowledge at the latest after this long (default 5 ms), or at once every 32 frames of a path. */
  ackDelayMs?: number;
  /** How long a new path's hello may take, ms (default 5,000). */
  helloTimeoutMs?: number;
  /** Step records kept (default 100). */
  historyLimit?: number;
}

/** One entry of a connection's switch history. */
export interface StepRecord {
  /** When (the clock's ms). */
  atMs: number;
  /** Which switch of this connection (1, 2, …). */
  switchId: number;
  /** `step`: a share began; `healthy`: it held; `completed` or `rolled-back`: the switch ended. */
  event: "step" | "healthy" | "completed" | "rolled-back";
  /** The new path's share of the frames at that moment (0 after a rollback). */
  share: number;
  /** Why, naming the measures and limits. */
  reason: string;
  /** The two paths' health over the step, when it was judged. */
  health?: { old: PathHealth; new: PathHealth };
}

/** How a gradual switch ended. */
export interface GradualReport {
  /** `completed`: the new path carries everything, the old is closed; `rolled-back`: the old carries everything. */
  outcome: "completed" | "rolled-back";
  /** Why. */
  reason: string;
  /** This switch's records, in order. */
  steps: StepRecord[];
}

/** What a steered connection reports beyond the transport counters. */
export interface SteeringStats {
  /** Its live paths: the old (primary) and, during a switch, the new, with what each carried. */
  paths: { id: number; role: "primary" | "candidate"; remoteAddress: string; sent: number; delivered: number }[];
  /** The new path's share of the frames now (0 outside a switch). */
  share: number;
  /** Frames sent again because the path they went on failed or was retired. */
  resent: number;
  /** Frames that arrived twice and were dropped. */
  duplicatesDropped: number;
  /** Paths the connection still holds (live ones, and retired ones not yet closed): bounded however many switches. */
  pathsHeld: number;
  /** The switch history, oldest first. */
  history: StepRecord[];
}

const DEFAULTS = { maxUnackedBytes: 8 * 1024 * 1024, ackDelayMs: 5, helloTimeoutMs: 5_000, historyLimit: 100 };
type Settings = typeof DEFAULTS & { clock: Clock };
/** Acknowledge at once after this many frames received or taken by the application. */
const ACK_EVERY_FRAMES = 32;
/** Frames a sender has in flight at most (its window also bounds their bytes). */
const MAX_IN_FLIGHT_FRAMES = 32_768;
/** Frames a receiver holds (out of order, or not yet read), and a path's unacknowledged log, at most. */
const MAX_HELD_FRAMES = 2 * MAX_IN_FLIGHT_FRAMES;
/** How long a retired path may take to close before the connection forgets it anyway, ms. */
const RETIRE_TIMEOUT_MS = 1_000;
/** How long a graceful close waits for the peer to receive what was sent, ms. */
const CLOSE_TIMEOUT_MS = 5_000;
/** Latencies kept per path and step, for the median. */
const MAX_LATENCIES = 1_024;

interface StepCounters {
  id: number;
  sent: number;
  delivered: number;
  latencies: number[];
  errors: number;
}

interface Path {
  id: number;
  connection: TransportConnection;
  frames: AsyncIterator<Uint8Array>;
  state: "live" | "gone";
  /** Frames sent on this path and not yet acknowledged on it, oldest first. */
  log: { seq: number; sentAtMs: number; step: number }[];
  logHead: number;
  sent: number;
  carried: number;
  received: number;
  ackedToPeer: number;
  step: StepCounters;
  lastError?: string;
}

/** An error that says the peer sent garbage (not that a path broke). */
const isPeerFault = (error: unknown): error is SwitchyardError =>
  error instanceof SwitchyardError && (error.code === "FRAME_INVALID" || error.code === "FRAME_TOO_LARGE");

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Sends a hello on `connection` and waits for the peer's, bounded; returns the iterator after it. */
async function exchangeHello(
  connection: TransportConnection,
  sessionId: Uint8Array,
  pathId: number,
  primaryId: number,
  settings: Settings,
): Promise<AsyncIterator<Uint8Array>> {
  await connection.send(encodeWire({ type: WIRE.HELLO, sessionId, pathId, primaryId }));
  const frames = connection.frames()[Symbol.asyncIterator]();
  const hello = await readHello(frames, settings);
  if (hex(hello.sessionId) !== hex(sessionId) || hello.pathId !== pathId) {
    throw new SwitchyardError("FRAME_INVALID", "steered: the peer answered for another session or path");
  }
  return frames;
}

/** The first frame of a path, which must be a hello, within `helloTimeoutMs`. */
async function readHello(
  frames: AsyncIterator<Uint8Array>,
  settings: Settings,
): Promise<Extract<WireFrame, { type: typeof WIRE.HELLO }>> {
  let timer: TimerId | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = settings.clock.setTimeout(
      () => reject(new SwitchyardError("TRANSPORT_TIMEOUT", `steered: no hello within ${settings.helloTimeoutMs} ms`)),
      settings.helloTimeoutMs,
    );
  });
  try {
    const first = await Promise.race([frames.next(), timeout]);
    const frame = first.done ? undefined : decodeWire(first.value);
    if (frame?.type !== WIRE.HELLO) {
      throw new SwitchyardError("FRAME_INVALID", "steered: a path must start with a hello");
    }
    return frame;
  } finally {
    settings.clock.clearTimeout(timer!);
  }
}

/**
 * One steered connection. Made by {@linkcode dialSteered} (the steering
 * side) or {@linkcode listenSteered} (the following side).
 */
export class SteeredConnection implements TransportConnection {
  /** Id of the session, shared by both ends. */
  readonly sessionId: Uint8Array;
  readonly closed: Promise<void>;
  readonly #settings: Settings;
  readonly #maxFrameBytes: number;
  readonly #steering: boolean;
  readonly #onEnd: () => void;
  /** The live paths (and a retired one until it is closed), by id. */
  readonly #paths = new Map<number, Path>();
  /** The highest path id so far: ids only grow, so an old path's frames can never pass for a new one's. */
  #lastPathId = 0;
  #primary!: Path;
  #candidate: Path | undefined;
  #share = 0;
  #credit = 0;
  #switching = false;
  #switches = 0;
  #stepId = 0;
  #history: StepRecord[] = [];
  // Sending.
  #nextSeq = 0;
  #unacked = new Map<number, Uint8Array>();
  #unackedBytes = 0;
  #delivered = 0;
  #sendChain: Promise<void> = Promise.resolve();
  #resent = 0;
  // Receiving.
  #next = 0;
  #reorder = new Map<number, Uint8Array>();
  #reorderBytes = 0;
  #endAt: number | undefined;
  #incoming = new AsyncQueue<Uint8Array>();
  #incomingBytes = 0;
  /** Frames the application has taken: what acknowledgements call delivered, so the peer's window is our memory. */
  #taken = 0;
  #takenAcked = 0;
  #ackEvents = 0;
  #ackTimer: TimerId | undefined;
  #retireTimers = new Set<TimerId>();
  #duplicates = 0;
  // Waiting.
  #waiters: (() => void)[] = [];
  #state: "open" | "closing" | "closed" = "open";
  /** Set once a close has sent its last frame: the paths end because this side ends them, not by failing. */
  #endingPaths = false;
  #error: Error | undefined;
  #resolveClosed!: () => void;
  #stats = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };

  /** Made by {@linkcode dialSteered} and {@linkcode listenSteered}. */
  constructor(
    sessionId: Uint8Array,
    first: { connection: TransportConnection; frames: AsyncIterator<Uint8Array> },
    maxFrameBytes: number,
    settings: Settings,
    steering: boolean,
    onEnd: () => void = () => {},
  ) {
    this.sessionId = sessionId;
    this.#settings = settings;
    this.#maxFrameBytes = maxFrameBytes;
    this.#steering = steering;
    this.#onEnd = onEnd;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#incoming.onTake = (frame) => {
      this.#incomingBytes -= frame.length;
      this.#taken++;
      this.#scheduleAcks();
    };
    this.#primary = this.#addPath(0, first.connection, first.frames);
  }

  /** This end's address, on the primary path. */
  get localAddress(): string {
    return this.#primary.connection.localAddress;
  }

  /** The peer's address, on the primary path. */
  get remoteAddress(): string {
    return this.#primary.connection.remoteAddress;
  }

  /** The primary path's connection underneath. */
  get underlying(): TransportConnection {
    return this.#primary.connection;
  }

  /** Sends a frame; it is delivered exactly once and in order, whichever paths carry it. */
  send(frame: Uint8Array): Promise<void> {
    if (this.#state !== "open") return Promise.reject(this.#closedError());
    const tooLarge = oversizedSend(frame.length, this.#maxFrameBytes);
    if (tooLarge) return Promise.reject(tooLarge);
    const cost = frame.length + DATA_OVERHEAD;
    const sending = this.#sendChain.then(async () => {
      // The window: bytes (a frame larger than what is left goes alone) and frames the peer has not taken yet.
      while (
        this.#state === "open" &&
        ((this.#unackedBytes > 0 && this.#unackedBytes + cost > this.#settings.maxUnackedBytes) ||
          this.#unacked.size >= MAX_IN_FLIGHT_FRAMES)
      ) await this.#changed();
      if (this.#state !== "open") throw this.#closedError();
      const copy = frame.slice();
      const seq = this.#nextSeq++;
      this.#unacked.set(seq, copy);
      this.#unackedBytes += cost;
      this.#stats.bytesSent += copy.length;
      this.#stats.framesSent++;
      this.#transmit(this.#choosePath(), seq, copy);
    });
    this.#sendChain = sending.catch(() => {});
    return sending;
  }

  /** The received frames, exactly once and in order. */
  frames(): AsyncIterable<Uint8Array> {
    return this.#incoming;
  }

  /** Resolves once the peer has delivered every frame sent so far. */
  async drain(): Promise<void> {
    await this.#sendChain;
    while (this.#delivered < this.#nextSeq) {
      if (this.#state === "closed") throw this.#closedError();
      await this.#changed();
    }
  }

  /**
   * Closes gracefully: sends still waiting for room are refused; what was
   * sent is received by the peer (a path failing meanwhile hands its frames
   * to the other), waited for at most 5 s; then a close on every path.
   */
  async close(): Promise<void> {
    if (this.#state !== "open") return await this.closed;
    this.#state = "closing";
    this.#wake();
    await this.#sendChain;
    const ended = () => this.#state === "closed";
    await this.#waitFor(CLOSE_TIMEOUT_MS, () =>
      ended() ||
      this.#livePaths().every((path) => path.logHead === path.log.length));
    if (ended()) return;
    const end = encodeWire({ type: WIRE.CLOSE, sent: this.#nextSeq });
    // Each path flushes the close and ends; one that stalls is not waited for past the same bound.
    this.#endingPaths = true;
    let closedPaths = false;
    Promise.all(
      this.#livePaths().map((path) =>
        path.connection.send(end).catch(() => {}).then(() => path.connection.close().catch(() => {}))
      ),
    ).finally(() => {
      closedPaths = true;
      this.#wake();
    });
    await this.#waitFor(CLOSE_TIMEOUT_MS, () => closedPaths);
    this.#finish();
  }

  /** Counters of the application's frames; `bufferedBytes` is what the peer has not delivered yet. */
  stats(): ConnectionStats {
    return { ...this.#stats, bufferedBytes: this.#unackedBytes };
  }

  /** The paths, the share, what was resent or dropped, and the switch history. */
  steering(): SteeringStats {
    return {
      paths: this.#livePaths().map((path) => ({
        id: path.id,
        role: path === this.#primary ? "primary" : "candidate",
        remoteAddress: path.connection.remoteAddress,
        sent: path.sent,
        delivered: path.carried,
      })),
      share: this.#candidate ? this.#share : 0,
      resent: this.#resent,
      duplicatesDropped: this.#duplicates,
      pathsHeld: this.#paths.size,
      history: this.#history.map((record) => ({ ...record })),
    };
  }

  /**
   * Moves this connection's traffic to a new path, `dial()`'s connection
   * (to the same peer, over any transport), in `options.steps`, each held
   * `holdMs` and judged against the old path; resolves with how it ended.
   * On a degraded step or a failing new path, the old path carries
   * everything again and the new one is closed; frames the new path had not
   * delivered are sent again on the old one. Only the dialing side steers.
   * Throws `INVALID_ARGUMENT` for bad options, or while another switch runs.
   */
  async switchTo(dial: () => Promise<TransportConnection>, options: GradualOptionsInput = {}): Promise<GradualReport> {
    const rule = resolveGradualOptions(options);
    if (!this.#steering) throw new SwitchyardError("INVALID_ARGUMENT", "steered: only the dialing side steers");
    if (this.#switching) throw new SwitchyardError("INVALID_ARGUMENT", "steered: a switch is already under way");
    if (this.#state !== "open") throw this.#closedError();
    this.#switching = true;
    const switchId = ++this.#switches;
    const steps: StepRecord[] = [];
    const record = (entry: Omit<StepRecord, "atMs" | "switchId">) => {
      const full = { atMs: this.#settings.clock.now(), switchId, ...entry };
      steps.push(full);
      this.#history.push(full);
      if (this.#history.length > this.#settings.historyLimit) this.#history.shift();
    };
    try {
      // Used up at once: a path the peer attached whose hello then failed here must not be offered again.
      const pathId = ++this.#lastPathId;
      let candidate: Path;
      try {
        const connection = await dial();
        try {
          const frames = await exchangeHello(connection, this.sessionId, pathId, this.#primary.id, this.#settings);
          candidate = this.#addPath(pathId, connection, frames);
        } catch (error) {
          await connection.close().catch(() => {});
          throw error;
        }
      } catch (error) {
        const reason = `the new path could not be opened: ${toError(error).message}`;
        record({ event: "rolled-back", share: 0, reason });
        return { outcome: "rolled-back", reason, steps };
      }
      this.#candidate = candidate;
      for (const share of rule.steps) {
        this.#setShare(share);
        this.#beginStep();
        record({ event: "step", share, reason: `the new path carries ${Math.round(share * 100)} % of the frames` });
        const interrupted = () => candidate.state !== "live" || this.#candidate !== candidate || this.#state !== "open";
        await this.#waitFor(rule.holdMs, interrupted);
        await this.#settle(candidate, rule);
        if (this.#primary === candidate) {
          const reason = `step ${Math.round(share * 100)} %: the old path failed; the new one carries everything`;
          record({ event: "completed", share: 1, reason });
          return { outcome: "completed", reason, steps };
        }
        const health = { old: this.#health(this.#primary, rule), new: this.#health(candidate, rule) };
        const verdict = this.#state !== "open"
          ? { healthy: false, reason: "the connection closed" }
          : candidate.state !== "live"
          ? { healthy: false, reason: `the new path failed: ${candidate.lastError ?? "closed"}` }
          : judgeStep(health.old, health.new, rule);
        if (!verdict.healthy) {
          this.#rollBack(candidate);
          const reason = `step ${Math.round(share * 100)} %: ${verdict.reason}`;
          record({ event: "rolled-back", share: 0, reason, health });
          return { outcome: "rolled-back", reason, steps };
        }
        record({ event: "healthy", share, reason: verdict.reason, health });
      }
      const old = this.#primary;
      this.#primary = candidate;
      this.#candidate = undefined;
      this.#retire(old);
      const reason = "every step held; the old path is closed";
      record({ event: "completed", share: 1, reason });
      return { outcome: "completed", reason, steps };
    } finally {
      this.#switching = false;
    }
  }

  /** Adds a path and starts reading it. */
  #addPath(id: number, connection: TransportConnection, frames: AsyncIterator<Uint8Array>): Path {
    const path: Path = {
      id,
      connection,
      frames,
      state: "live",
      log: [],
      logHead: 0,
      sent: 0,
      carried: 0,
      received: 0,
      ackedToPeer: 0,
      step: { id: this.#stepId, sent: 0, delivered: 0, latencies: [], errors: 0 },
    };
    this.#paths.set(id, path);
    this.#lastPathId = Math.max(this.#lastPathId, id);
    this.#read(path);
    return path;
  }

  /**
   * The following side's view of a new path its peer opened, while its
   * primary was `primaryId`. The peer steers one switch at a time, and the
   * retire that ended the last one may not have arrived yet (it travels on
   * another path): a candidate still here that is the peer's primary won,
   * and takes over from this side's; one that is not was given up (it failed
   * under the peer before this side noticed), and is retired.
   */
  attachCandidate(
    connection: TransportConnection,
    frames: AsyncIterator<Uint8Array>,
    pathId: number,
    primaryId: number,
  ): boolean {
    if (this.#state !== "open" || this.#steering || pathId <= this.#lastPathId) return false;
    const previous = this.#candidate;
    if (previous?.id === primaryId && previous.state === "live") {
      const old = this.#primary;
      this.#primary = previous;
      this.#candidate = undefined;
      this.#retire(old);
    } else if (previous) {
      this.#rollBack(previous);
    }
    if (this.#primary.id !== primaryId) return false;
    this.#candidate = this.#addPath(pathId, connection, frames);
    this.#share = 0;
    return true;
  }

  #livePaths(): Path[] {
    return [...this.#paths.values()].filter((path) => path.state === "live");
  }

  #setShare(share: number): void {
    this.#share = share;
    this.#credit = 0;
    const steer = encodeWire({ type: WIRE.STEER, pathId: this.#candidate!.id, share });
    const primary = this.#primary;
    primary.connection.send(steer).catch((error) => this.#pathFailed(primary, error));
  }

  #beginStep(): number {
    this.#stepId++;
    for (const path of this.#livePaths()) {
      path.step = { id: this.#stepId, sent: 0, delivered: 0, latencies: [], errors: 0 };
    }
    return this.#stepId;
  }

  /** The path of the next frame: the candidate for its share (spread evenly), the primary otherwise. */
  #choosePath(): Path {
    const candidate = this.#candidate;
    if (!candidate || candidate.state !== "live" || this.#share === 0) return this.#primary;
    this.#credit += this.#share;
    if (this.#credit >= 1 - 1e-9) {
      this.#credit -= 1;
      return candidate;
    }
    return this.#primary;
  }

  /**
   * Hands a frame to a path, not waiting for the path to take it: one path
   * stalling must not hold up the other (the window bounds what is given).
   */
  #transmit(path: Path, seq: number, payload: Uint8Array): void {
    if (path.state !== "live") path = this.#primary;
    if (path.log.length - path.logHead >= MAX_HELD_FRAMES) {
      return this.#fail(
        new SwitchyardError("FRAME_INVALID", "steered: the peer does not acknowledge what a path carries"),
      );
    }
    path.log.push({ seq, sentAtMs: this.#settings.clock.now(), step: path.step.id });
    path.sent++;
    path.step.sent++;
    path.connection.send(encodeWire({ type: WIRE.DATA, seq, payload })).catch((error) => this.#pathFailed(path, error));
  }

  /** Waits until `done()` holds (looked at after every change) or `ms` have passed. */
  async #waitFor(ms: number, done: () => boolean): Promise<void> {
    const clock = this.#settings.clock;
    const deadline = clock.now() + ms;
    let timer: TimerId | undefined;
    const elapsed = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, Math.max(0, ms))));
    try {
      while (!done() && clock.now() < deadline) await Promise.race([elapsed, this.#changed()]);
    } finally {
      clock.clearTimeout(timer!);
    }
  }

  /**
   * Waits until every frame the candidate was given up to now is delivered,
   * or `ackTimeoutMs` has passed (what is still pending is overdue then), or
   * the candidate is gone. A path delivers in order, so its oldest pending
   * frame tells.
   */
  async #settle(candidate: Path, rule: GradualOptions): Promise<void> {
    const cutoffMs = this.#settings.clock.now();
    await this.#waitFor(rule.ackTimeoutMs, () => {
      const oldest = candidate.log[candidate.logHead];
      return candidate.state !== "live" || this.#state !== "open" || oldest === undefined ||
        oldest.sentAtMs > cutoffMs;
    });
  }

  #health(path: Path, rule: GradualOptions): PathHealth {
    const now = this.#settings.clock.now();
    let overdue = 0;
    for (let i = path.logHead; i < path.log.length; i++) {
      const entry = path.log[i];
      if (entry.step === path.step.id && now - entry.sentAtMs >= rule.ackTimeoutMs) overdue++;
    }
    const { sent, delivered, latencies, errors } = path.step;
    return {
      sent,
      delivered,
      overdue,
      errors,
      ...(latencies.length > 0 ? { medianAckMs: median(latencies) } : {}),
    };
  }

  /** Ends a switch: the old path carries everything; the new one is retired. */
  #rollBack(candidate: Path): void {
    this.#share = 0;
    if (this.#candidate === candidate) this.#candidate = undefined;
    this.#retire(candidate);
  }

  /** Retires a path: nothing more is sent on it, what it had not carried goes on the primary, the peer is told. */
  #retire(path: Path): void {
    if (path.state !== "live") return;
    path.state = "gone";
    // Acknowledge what arrived on it, so the peer does not send that again, then close it (flushing both). A
    // path that stalls does not close: after RETIRE_TIMEOUT_MS the connection forgets it anyway.
    const ack = encodeWire({ type: WIRE.ACK, delivered: this.#taken, received: path.received });
    const sent = Promise.all([
      path.connection.send(ack),
      path.connection.send(encodeWire({ type: WIRE.RETIRE, pathId: path.id })),
    ]).catch(() => {});
    const timer = this.#settings.clock.setTimeout(() => {
      this.#retireTimers.delete(timer);
      path.connection.close().catch(() => {});
      this.#forget(path);
    }, RETIRE_TIMEOUT_MS);
    this.#retireTimers.add(timer);
    sent.then(() => path.connection.close()).catch(() => {}).finally(() => {
      this.#settings.clock.clearTimeout(timer);
      this.#retireTimers.delete(timer);
      this.#forget(path);
    });
    this.#resendFrom(path);
    this.#wake();
  }

  /** A path failed under the connection: the other carries on, or the connection fails with it. */
  #pathFailed(path: Path, error: unknown): void {
    if (path.state !== "live" || this.#state === "closed" || this.#endingPaths) return;
    path.state = "gone";
    path.step.errors++;
    path.lastError = toError(error).message;
    path.connection.close().catch(() => {}).finally(() => this.#forget(path));
    if (path === this.#candidate) {
      this.#candidate = undefined;
      this.#share = 0;
    } else if (path === this.#primary) {
      const candidate = this.#candidate;
      if (!candidate || candidate.state !== "live") {
        return this.#fail(
          new SwitchyardError("TRANSPORT_CLOSED", `steered: the connection's path failed: ${path.lastError}`, {
            cause: error,
          }),
        );
      }
      this.#primary = candidate;
      this.#candidate = undefined;
      this.#share = 0;
    }
    this.#resendFrom(path);
    this.#wake();
  }

  /** Drops a gone path from the map (its id stays used): a connection switched for days holds two paths, not all. */
  #forget(path: Path): void {
    if (path.state === "gone" && this.#paths.get(path.id) === path && this.#state !== "closed") {
      this.#paths.delete(path.id);
    }
  }

  /** Sends again, on the primary, what `path` was given and did not carry (and the peer has not delivered). */
  #resendFrom(path: Path): void {
    const pending = path.log.slice(path.logHead).map((entry) => entry.seq).filter((seq) => this.#unacked.has(seq));
    path.log = [];
    path.logHead = 0;
    for (const seq of pending) {
      this.#resent++;
      this.#transmit(this.#primary, seq, this.#unacked.get(seq)!);
    }
  }

  async #read(path: Path): Promise<void> {
    try {
      // Read on whatever the application does: the peer may not send past the window this side acknowledges
      // (what the application took), so what waits here is bounded by it (`#receive` holds the peer to it).
      for (;;) {
        const next = await path.frames.next();
        if (next.done || this.#state === "closed") break;
        this.#handle(path, decodeWire(next.value));
      }
    } catch (error) {
      // Malformed or oversized frames, underneath or of this layer, are the peer's fault and final; else a broken path.
      if (isPeerFault(error)) return this.#fail(error);
      return this.#pathFailed(path, error);
    }
    if (this.#state !== "closed") {
      this.#pathFailed(path, new SwitchyardError("TRANSPORT_CLOSED", "steered: the path closed"));
    }
  }

  #handle(path: Path, frame: WireFrame): void {
    switch (frame.type) {
      case WIRE.DATA:
        path.received++;
        this.#receive(frame.seq, frame.payload);
        this.#scheduleAcks();
        return;
      case WIRE.ACK:
        this.#acknowledged(path, frame.delivered, frame.received);
        return;
      case WIRE.STEER:
        if (!this.#steering && this.#candidate?.id === frame.pathId) {
          this.#share = frame.share;
          this.#credit = 0;
        }
        return;
      case WIRE.RETIRE: {
        const retired = this.#paths.get(frame.pathId);
        if (!retired || retired.state !== "live" || this.#steering) return;
        if (retired === this.#primary) {
          if (!this.#candidate) return; // nothing to move to: not the peer's to ask
          this.#primary = this.#candidate;
        }
        this.#candidate = undefined;
        this.#share = 0;
        this.#retire(retired);
        return;
      }
      case WIRE.CLOSE:
        this.#endAt = frame.sent;
        this.#maybeEnd();
        return;
      case WIRE.HELLO:
        throw new SwitchyardError("FRAME_INVALID", "steered: a second hello on a path");
    }
  }

  #receive(seq: number, payload: Uint8Array): void {
    if (seq < this.#next || this.#reorder.has(seq)) {
      this.#duplicates++;
      return;
    }
    const held = this.#incoming.size + this.#reorder.size;
    const heldBytes = this.#incomingBytes + this.#reorderBytes + payload.length;
    if (
      seq - this.#next >= MAX_HELD_FRAMES || held >= MAX_HELD_FRAMES ||
      heldBytes > this.#settings.maxUnackedBytes + this.#maxFrameBytes + DATA_OVERHEAD
    ) {
      throw new SwitchyardError(
        "FRAME_INVALID",
        `steered: frame ${seq} is past the window (next ${this.#next}, ${held} frames and ${heldBytes} bytes held)`,
      );
    }
    if (seq !== this.#next) {
      this.#reorder.set(seq, payload.slice());
      this.#reorderBytes += payload.length;
      return;
    }
    this.#deliver(payload.slice());
    for (let held = this.#reorder.get(this.#next); held; held = this.#reorder.get(this.#next)) {
      this.#reorder.delete(this.#next);
      this.#reorderBytes -= held.length;
      this.#deliver(held);
    }
    this.#maybeEnd();
  }

  #deliver(payload: Uint8Array): void {
    this.#next++;
    this.#stats.bytesReceived += payload.length;
    this.#stats.framesReceived++;
    this.#incomingBytes += payload.length;
    this.#incoming.push(payload);
  }

  #maybeEnd(): void {
    if (this.#endAt === undefined || this.#next < this.#endAt || this.#state === "closed") return;
    this.#flushAcks();
    this.#state = "closed";
    for (const path of this.#paths.values()) {
      path.state = "gone";
      path.connection.close().catch(() => {});
    }
    this.#finish();
  }

  /** Counts a frame received on a path or taken by the application; acknowledges every 32, or after `ackDelayMs`. */
  #scheduleAcks(): void {
    if (this.#state === "closed") return;
    if (++this.#ackEvents >= ACK_EVERY_FRAMES) return this.#flushAcks();
    if (this.#ackTimer !== undefined) return;
    this.#ackTimer = this.#settings.clock.setTimeout(() => {
      this.#ackTimer = undefined;
      this.#flushAcks();
    }, this.#settings.ackDelayMs);
  }

  /**
   * Acknowledges, on every live path that carried frames since its last
   * acknowledgement (and on the primary when the application took frames),
   * what that path carried and what the application took in all.
   */
  #flushAcks(): void {
    if (this.#ackTimer !== undefined) this.#settings.clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#ackEvents = 0;
    if (this.#state === "closed") return;
    const takenMoved = this.#taken !== this.#takenAcked;
    this.#takenAcked = this.#taken;
    for (const path of this.#livePaths()) {
      if (path.received === path.ackedToPeer && !(takenMoved && path === this.#primary)) continue;
      path.ackedToPeer = path.received;
      const ack = encodeWire({ type: WIRE.ACK, delivered: this.#taken, received: path.received });
      path.connection.send(ack).catch((error) => this.#pathFailed(path, error));
    }
  }

  /** An acknowledgement: `delivered` frames delivered in all, `received` carried by `path`. */
  #acknowledged(path: Path, delivered: number, received: number): void {
    if (delivered > this.#nextSeq || received > path.sent) {
      throw new SwitchyardError("FRAME_INVALID", "steered: an acknowledgement of frames never sent");
    }
    const now = this.#settings.clock.now();
    while (path.carried < received) {
      path.carried++;
      const entry = path.log[path.logHead];
      if (!entry) break;
      path.logHead++;
      if (entry.step === path.step.id) {
        path.step.delivered++;
        if (path.step.latencies.length < MAX_LATENCIES) path.step.latencies.push(now - entry.sentAtMs);
      }
    }
    if (path.logHead > 1_024 && path.logHead * 2 > path.log.length) {
      path.log = path.log.slice(path.logHead);
      path.logHead = 0;
    }
    for (; this.#delivered < delivered; this.#delivered++) {
      const frame = this.#unacked.get(this.#delivered);
      if (frame) this.#unackedBytes -= frame.length + DATA_OVERHEAD;
      this.#unacked.delete(this.#delivered);
    }
    this.#wake();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #closedError(): Error {
    return this.#error ?? new SwitchyardError("TRANSPORT_CLOSED", "steered: the connection is closed");
  }

  #fail(error: Error): void {
    if (this.#state === "closed") return;
    this.#error = error;
    this.#state = "closed";
    this.#incoming.fail(error);
    for (const path of this.#paths.values()) {
      path.state = "gone";
      path.connection.close().catch(() => {});
    }
    this.#finish();
  }

  #finish(): void {
    this.#state = "closed";
    for (const timer of [this.#ackTimer, ...this.#retireTimers]) {
      if (timer !== undefined) this.#settings.clock.clearTimeout(timer);
    }
    this.#ackTimer = undefined;
    this.#retireTimers.clear();
    this.#wake();
    this.#incoming.end();
    this.#onEnd();
    this.#resolveClosed();
  }
}

const settingsOf = (options: SteeredOptions): Settings => ({ ...DEFAULTS, ...options });

/**
 * Dials a steered connection to `address` over `transport`; switch its
 * traffic to another path later with {@linkcode SteeredConnection.switchTo}.
 *
 * @example
 * ```ts ignore
 * import { dialSteered } from "./steered.ts";
 * const connection = await dialSteered(tcp, "10.0.0.2:7000", { clock });
 * const report = await connection.switchTo(() => tls.dial("10.0.0.2:7443"));
 * report.outcome; // "completed", or "rolled-back" with the reason
 * ```
 */
export async function dialSteered(
  transport: Transport,
  address: string,
  options: SteeredOptions,
): Promise<SteeredConnection> {
  const settings = settingsOf(options);
  const sessionId = crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES));
  const connection = await transport.dial(address);
  try {
    const frames = await exchangeHello(connection, sessionId, 0, 0, settings);
    return new SteeredConnection(
      sessionId,
      { connection, frames },
      transport.maxFrameBytes - DATA_OVERHEAD,
      settings,
      true,
    );
  } catch (error) {
    await connection.close().catch(() => {});
    throw error;
  }
}

/**
 * Accepts steered connections on every listener in `listeners` (one per
 * transport a path may come over): a hello for a new session is a new
 * connection; one for a known session is that connection's new path.
 * Connections that do not start with a valid hello in time are closed.
 */
export function listenSteered(
  listeners: TransportListener[],
  maxFrameBytes: number,
  options: SteeredOptions & { maxSessions?: number },
): TransportListener {
  const settings = settingsOf(options);
  const maxSessions = options.maxSessions ?? 1_024;
  const sessions = new Map<string, SteeredConnection>();
  const accepted = new AsyncQueue<TransportConnection>();
  let open = listeners.length;
  const admit = async (connection: TransportConnection) => {
    const frames = connection.frames()[Symbol.asyncIterator]();
    try {
      const hello = await readHello(frames, settings);
      const key = hex(hello.sessionId);
      const session = sessions.get(key);
      const reply = () => connection.send(encodeWire({ ...hello, type: WIRE.HELLO }));
      if (session) {
        // A second new path at once, a path id already used, or a closed session: refused.
        if (!session.attachCandidate(connection, frames, hello.pathId, hello.primaryId)) {
          return await connection.close().catch(() => {});
        }
        await reply();
        return;
      }
      // A first path must be path 0, and the sessions are bounded.
      if (hello.pathId !== 0 || sessions.size >= maxSessions) return await connection.close().catch(() => {});
      await reply();
      const steered = new SteeredConnection(
        hello.sessionId,
        { connection, frames },
        maxFrameBytes - DATA_OVERHEAD,
        settings,
        false,
        () => sessions.delete(key),
      );
      sessions.set(key, steered);
      accepted.push(steered);
    } catch {
      await connection.close().catch(() => {});
    }
  };
  for (const listener of listeners) {
    (async () => {
      for await (const connection of listener.connections()) admit(connection);
    })().catch(() => {}).finally(() => --open === 0 && accepted.end());
  }
  return {
    address: listeners[0]?.address ?? "",
    connections: () => accepted,
    close: async () => {
      await Promise.all(listeners.map((listener) => listener.close()));
    },
  };
}

/**
 * `transport` with steered connections: each dialed or accepted connection
 * is a {@linkcode SteeredConnection} on one path over `transport` (whose
 * traffic a dialer can later move to another path with `switchTo`).
 */
export function steeredTransport(transport: Transport, options: SteeredOptions): Transport {
  return {
    name: `${transport.name}+steered`,
    maxFrameBytes: transport.maxFrameBytes - DATA_OVERHEAD,
    dial: (address) => dialSteered(transport, address, options),
    listen: async (address) => listenSteered([await transport.listen(address)], transport.maxFrameBytes, options),
  };
}
