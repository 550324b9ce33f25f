/**
 * Seals frames for one peer and opens frames from peers: HMAC-SHA-256 under
 * the pair's key, with replay protection from sessions,
 * counters and send times. See `mod.ts` for the guarantees and what they
 * assume.
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import { hmacSha256, verifyHmacSha256 } from "./hmac.ts";
import type { PeerKeys } from "./keys.ts";
import { DEFAULT_REPLAY_WINDOW, ReplayWindow } from "./replay_window.ts";
import { layOut, nodeIdBytes, parseSealed, type SealedHeader, TAG_BYTES } from "./sealed_frame.ts";

/** Why {@linkcode PeerAuthenticator.open} refused a frame. */
export type RejectionReason =
  /** Not a sealed frame: too short, unknown format, bad header fields. */
  | "malformed"
  /** Sealed for another node. */
  | "wrong-recipient"
  /** From a sender this node does not accept (`isPeer`), or from itself. */
  | "unknown-sender"
  /** The tag does not verify: forged, altered, or sealed under another key. */
  | "bad-mac"
  /** Stamped at or before this node's start + the clock skew: a previous run of this node may have taken it. */
  | "sent-before-start"
  /** Stamped more than the allowed clock skew ahead of this node's clock. */
  | "from-the-future"
  /** From an earlier run of the sender than one already heard from. */
  | "stale-session"
  /** Already accepted. */
  | "replayed"
  /** Too far behind the sender's newest frame to tell whether it is a replay. */
  | "outside-window";

/** Every {@linkcode RejectionReason}, for counters. */
export const REJECTION_REASONS: readonly RejectionReason[] = [
  "malformed",
  "wrong-recipient",
  "unknown-sender",
  "bad-mac",
  "sent-before-start",
  "from-the-future",
  "stale-session",
  "replayed",
  "outside-window",
];

/** What {@linkcode PeerAuthenticator.open} returns. */
export type OpenResult =
  | {
    /** The frame is authentic, fresh and for this node. */
    ok: true;
    /** The authenticated sender. */
    from: string;
    /** This node. */
    to: string;
    /** The payload (a view into the frame). */
    payload: Uint8Array;
  }
  | {
    /** Refused. */
    ok: false;
    /** Why. */
    reason: RejectionReason;
    /** Detail for logs. */
    detail: string;
    /** The sender the frame claims, when it could be read (not authenticated). */
    from?: string;
  };

/** How a {@linkcode PeerAuthenticator} runs. */
export interface PeerAuthenticatorOptions {
  /** This node's id (1 to 255 UTF-8 bytes). */
  self: string;
  /** The pair keys. */
  keys: PeerKeys;
  /** Wall-clock time in ms (`SystemClock`; a shared `ManualClock` in tests): stamps frames and checks them. */
  clock: Clock;
  /** Largest difference between two nodes' clocks, in ms (default 250); see `mod.ts`. */
  maxClockSkewMs?: number;
  /** Senders to accept; checked before any cryptography. Default: every other node. */
  isPeer?: (id: string) => boolean;
  /** Counters remembered behind each sender's newest (default 1,024; a multiple of 32). */
  replayWindow?: number;
  /** Senders whose replay state is kept at most (default 1,024); frames from further senders are refused. */
  maxSenders?: number;
  /**
   * When this node's process started (default: now). Frames stamped before
   * it (plus the skew) are refused, since an earlier run may have taken them.
   * An engine started later in a running process under keys of its own (a
   * new epoch of the adaptive engine, see `epochKeys`) passes the process's
   * start, so it does not refuse its peers' first frames.
   */
  startedAtMs?: number;
}

/** Default {@linkcode PeerAuthenticatorOptions.maxClockSkewMs}. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 250;

/** The latest session started in this process, so sessions increase even when two start within one ms. */
let lastSession = -Infinity;

/**
 * One node's sealing and opening of peer frames.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../../core/util/clock.ts";
 * import { clusterKeys, parseClusterKey, PeerAuthenticator } from "./mod.ts";
 * const keys = clusterKeys(parseClusterKey("ab".repeat(32), "clusterKey"));
 * const clock = new ManualClock();
 * const n1 = new PeerAuthenticator({ self: "n1", keys, clock, maxClockSkewMs: 100 });
 * const n2 = new PeerAuthenticator({ self: "n2", keys, clock, maxClockSkewMs: 100 });
 * await clock.advance(101); // a node refuses frames stamped before its start + the skew
 * const frame = await n1.seal("n2", new Uint8Array([1, 2, 3]));
 * const opened = await n2.open(frame); // { ok: true, from: "n1", to: "n2", payload }
 * (await n2.open(frame)).ok; // false: "replayed"
 * ```
 */
export class PeerAuthenticator {
  /** This node. */
  readonly self: string;
  /** This run's session: its start time in ms (or one more than the previous session of this process). */
  readonly session: number;
  /** When this authenticator started, by its clock. */
  readonly startedAtMs: number;
  /** The clock skew allowed, in ms. */
  readonly maxClockSkewMs: number;
  readonly #selfBytes: Uint8Array;
  readonly #keys: PeerKeys;
  readonly #clock: Clock;
  readonly #isPeer: (id: string) => boolean;
  readonly #windowSize: number;
  readonly #maxSenders: number;
  readonly #sent = new Map<string, number>();
  readonly #windows = new Map<string, ReplayWindow>();
  #inFlight = 0;
  #whenIdle: (() => void)[] = [];

  /** Starts a session now. */
  constructor(options: PeerAuthenticatorOptions) {
    const selfBytes = nodeIdBytes(options.self);
    if (!selfBytes) throw new SwitchyardError("INVALID_ARGUMENT", `self: node id must be 1 to 255 UTF-8 bytes`);
    const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    if (!(Number.isFinite(skew) && skew >= 0)) {
      throw new SwitchyardError("INVALID_ARGUMENT", `maxClockSkewMs: must be a finite number >= 0, got ${skew}`);
    }
    this.self = options.self;
    this.#selfBytes = selfBytes;
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.#isPeer = options.isPeer ?? (() => true);
    this.#windowSize = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    new ReplayWindow(this.#windowSize); // validates the size now rather than at the first frame
    this.#maxSenders = options.maxSenders ?? 1024;
    this.maxClockSkewMs = skew;
    const startedAtMs = options.startedAtMs ?? options.clock.now();
    if (!Number.isFinite(startedAtMs) || startedAtMs > options.clock.now()) {
      throw new SwitchyardError("INVALID_ARGUMENT", `startedAtMs: must be a time not after now, got ${startedAtMs}`);
    }
    this.startedAtMs = startedAtMs;
    this.session = lastSession = Math.max(this.startedAtMs, lastSession + 1);
  }

  /**
   * Seals and opens not finished yet. WebCrypto runs them off the event loop,
   * so a test driving time by hand (`ManualClock`) waits for 0 before moving
   * time on, or time would outrun them.
   */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Resolves once no seal or open is in flight (at once when none is). */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenIdle.push(resolve));
  }

  #done(): void {
    if (--this.#inFlight > 0) return;
    const waiting = this.#whenIdle;
    this.#whenIdle = [];
    for (const resolve of waiting) resolve();
  }

  /**
   * Seals `payload` for `to`. The frame's number is taken when this is
   * called, so frames to one peer are numbered in call order.
   */
  async seal(to: string, payload: Uint8Array): Promise<Uint8Array> {
    this.#inFlight++;
    try {
      return await this.#seal(to, payload);
    } finally {
      this.#done();
    }
  }

  async #seal(to: string, payload: Uint8Array): Promise<Uint8Array> {
    const toBytes = nodeIdBytes(to);
    if (!toBytes) throw new SwitchyardError("INVALID_ARGUMENT", `to: node id must be 1 to 255 UTF-8 bytes`);
    const counter = (this.#sent.get(to) ?? 0) + 1;
    this.#sent.set(to, counter);
    const header: SealedHeader = {
      from: this.self,
      to,
      session: this.session,
      counter,
      sentAtMs: this.#clock.now(),
    };
    const frame = layOut(header, this.#selfBytes, toBytes, payload);
    const body = frame.subarray(0, frame.byteLength - TAG_BYTES);
    frame.set(hmacSha256(await this.#keys.keyFor(this.self, to), body), body.byteLength);
    return frame;
  }

  /**
   * Opens a frame: checks its layout, that it is for this node and from an
   * accepted peer, its tag, its send time, and that it was not accepted
   * before. Never throws for bad input; says why instead.
   */
  async open(frame: Uint8Array): Promise<OpenResult> {
    this.#inFlight++;
    try {
      return await this.#open(frame);
    } finally {
      this.#done();
    }
  }

  async #open(frame: Uint8Array): Promise<OpenResult> {
    const parsed = parseSealed(frame);
    if (typeof parsed === "string") return { ok: false, reason: "malformed", detail: parsed };
    const { header } = parsed;
    const { from } = header;
    const refuse = (reason: RejectionReason, detail: string): OpenResult => ({ ok: false, reason, detail, from });
    if (header.to !== this.self) return refuse("wrong-recipient", `sealed for ${header.to}`);
    if (from === this.self || !this.#isPeer(from)) return refuse("unknown-sender", `${from} is not a peer`);
    let authentic: boolean;
    try {
      authentic = verifyHmacSha256(await this.#keys.keyFor(from, this.self), parsed.signed, parsed.tag);
    } catch (error) {
      return refuse("bad-mac", `cannot verify: ${error}`);
    }
    if (!authentic) return refuse("bad-mac", "the tag does not verify");
    const now = this.#clock.now();
    if (header.sentAtMs > now + this.maxClockSkewMs) {
      return refuse("from-the-future", `sent at ${header.sentAtMs}, ${header.sentAtMs - now} ms ahead`);
    }
    if (header.sentAtMs <= this.startedAtMs + this.maxClockSkewMs) {
      return refuse("sent-before-start", `sent at ${header.sentAtMs}, this node started at ${this.startedAtMs}`);
    }
    let window = this.#windows.get(from);
    if (!window) {
      if (this.#windows.size >= this.#maxSenders) return refuse("unknown-sender", "too many senders tracked");
      window = new ReplayWindow(this.#windowSize);
      this.#windows.set(from, window);
    }
    const verdict = window.accept(header.session, header.counter);
    if (verdict !== "fresh") return refuse(verdict, `session ${header.session} frame ${header.counter}`);
    return { ok: true, from, to: header.to, payload: parsed.payload };
  }
}
