/**
 * Resumable connections over any transport: when the underlying connection
 * breaks (a reset, a dead link, a restarted proxy), the dialing side dials
 * again with exponential backoff, both sides tell each other how many frames
 * they received, and what the other side missed is sent again. The
 * application sees one connection whose frames still arrive exactly once and
 * in order; it only fails when the peer stays unreachable past the limits.
 *
 * Each side keeps the frames it sent until the peer acknowledges them (a
 * bounded buffer: `send` waits when it is full, so memory stays bounded).
 * Wire frames carry a one-byte type: hello (session id and frames received),
 * data, ack (frames received), close.
 *
 * A malformed or oversized frame is not a break: it fails the connection with
 * its typed error, as on any transport.
 *
 * @module
 */
import { type Clock, sleep } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import { oversizedSend } from "./length_prefix.ts";
import type {
  ConnectionStats,
  Transport,
  TransportConnection,
  TransportListener,
} from "../../core/contracts/transport.ts";
import { AsyncQueue } from "./async_queue.ts";

/** How connections resume. */
export interface ResumeOptions {
  /** Time source for backoff, acknowledgements and expiry. */
  clock: Clock;
  /** Bytes sent and not yet acknowledged before `send` waits (default 8 MiB). */
  maxUnackedBytes?: number;
  /** Dial attempts after a break before giving up (default 8). */
  maxAttempts?: number;
  /** First wait before dialling again; doubles each attempt (default 50 ms). */
  initialBackoffMs?: number;
  /** Longest wait between attempts (default 2,000 ms). */
  maxBackoffMs?: number;
  /** How long a listening side keeps a broken session for its dialer to come back (default 10,000 ms). */
  resumeTimeoutMs?: number;
  /** Acknowledge at the latest after this long (default 5 ms), or at once every 32 frames. */
  ackDelayMs?: number;
}

const HELLO = 1;
const DATA = 2;
const ACK = 3;
const CLOSE = 4;
const SESSION_ID_BYTES = 16;
const ACK_EVERY_FRAMES = 32;
/** Received frames (and bytes) held for a reader that is not reading, before reading the wire pauses. */
const MAX_BUFFERED_FRAMES = 256;
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

type Defaults = Required<Omit<ResumeOptions, "clock">>;
const DEFAULTS: Defaults = {
  maxUnackedBytes: 8 * 1024 * 1024,
  maxAttempts: 8,
  initialBackoffMs: 50,
  maxBackoffMs: 2000,
  resumeTimeoutMs: 10_000,
  ackDelayMs: 5,
};

function control(type: number, count: number, sessionId?: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + (sessionId?.length ?? 0) + 8);
  frame[0] = type;
  if (sessionId) frame.set(sessionId, 1);
  new DataView(frame.buffer).setFloat64(frame.length - 8, count);
  return frame;
}

function countOf(frame: Uint8Array): number {
  if (frame.length < 9) throw new SwitchyardError("FRAME_INVALID", "resumable: control frame too short");
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getFloat64(frame.length - 8);
}

function parseHello(frame: Uint8Array | undefined): { sessionId: Uint8Array; received: number } {
  if (!frame || frame[0] !== HELLO || frame.length !== 1 + SESSION_ID_BYTES + 8) {
    throw new SwitchyardError("FRAME_INVALID", "resumable: the connection did not start with a hello");
  }
  return { sessionId: frame.slice(1, 1 + SESSION_ID_BYTES), received: countOf(frame) };
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/**
 * An oversized frame from underneath is the peer's fault and final. Anything
 * else from underneath (a reset, a stream cut in the middle of a frame) is a
 * broken link worth resuming. Malformed frames of this layer's own protocol
 * are final too (see `#read`).
 */
function isFatal(error: unknown): boolean {
  return error instanceof SwitchyardError && error.code === "FRAME_TOO_LARGE";
}

/** A fresh underlying connection after a handshake, and how many frames its far end had received. */
export interface ResumeHandshake {
  /** The new underlying connection. */
  inner: TransportConnection;
  /** Its frames after the hello. */
  frames: AsyncIterator<Uint8Array>;
  /** Frames of this session the far end had received. */
  peerReceived: number;
}

/**
 * One resumable connection. Made by {@linkcode resumableTransport}.
 */
export class ResumableConnection implements TransportConnection {
  /** Id of the session, shared by both ends. */
  readonly sessionId: Uint8Array;
  /** The peer's address. */
  readonly remoteAddress: string;
  /** Times the underlying connection was replaced. */
  resumes = 0;
  /** Frames sent again after a resume. */
  retransmitted = 0;
  readonly closed: Promise<void>;
  readonly #options: Defaults & { clock: Clock };
  readonly #maxFrameBytes: number;
  readonly #redial: (() => Promise<ResumeHandshake>) | undefined;
  readonly #onEnd: () => void;
  #inner: TransportConnection | undefined;
  #generation = 0;
  #unacked: Uint8Array[] = [];
  #unackedBytes = 0;
  #acked = 0;
  #sent = 0;
  #received = 0;
  #ackedToPeer = 0;
  #ackTimer: number | undefined;
  #expiryTimer: number | undefined;
  #incoming = new AsyncQueue<Uint8Array>();
  #incomingBytes = 0;
  #spaceWaiter: (() => void) | undefined;
  #ackWaiters: (() => void)[] = [];
  #attachWaiters: (() => void)[] = [];
  #sendChain: Promise<void> = Promise.resolve();
  #resent: Promise<void> = Promise.resolve();
  #state: "open" | "closing" | "closed" = "open";
  #error: Error | undefined;
  #resolveClosed!: () => void;
  #stats = { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0 };

  /** Made by {@linkcode resumableTransport}; `redial` is given to the dialing end only. */
  constructor(
    sessionId: Uint8Array,
    remoteAddress: string,
    maxFrameBytes: number,
    options: Defaults & { clock: Clock },
    redial: (() => Promise<ResumeHandshake>) | undefined,
    onEnd: () => void,
  ) {
    this.sessionId = sessionId;
    this.remoteAddress = remoteAddress;
    this.#maxFrameBytes = maxFrameBytes;
    this.#options = options;
    this.#redial = redial;
    this.#onEnd = onEnd;
    this.closed = new Promise((resolve) => this.#resolveClosed = resolve);
    this.#incoming.onTake = (frame) => {
      this.#incomingBytes -= frame.length;
      const wake = this.#spaceWaiter;
      this.#spaceWaiter = undefined;
      wake?.();
    };
  }

  /** This end's address (that of the current underlying connection). */
  get localAddress(): string {
    return this.#inner?.localAddress ?? "";
  }

  /** The underlying connection now (undefined while resuming). */
  get underlying(): TransportConnection | undefined {
    return this.#inner;
  }

  /** Sends a frame; it survives breaks until the peer acknowledges it. */
  send(frame: Uint8Array): Promise<void> {
    if (this.#state !== "open") return Promise.reject(this.#closedError());
    const tooLarge = oversizedSend(frame.length, this.#maxFrameBytes);
    if (tooLarge) {
      this.#fail(tooLarge);
      return Promise.reject(tooLarge);
    }
    const sending = this.#sendChain.then(async () => {
      while (this.#unackedBytes >= this.#options.maxUnackedBytes && this.#state === "open") await this.#nextAck();
      // Sent before `close`: still goes out, if there is room; a send waiting for room is refused by the close.
      if (this.#state === "closed" || this.#unackedBytes >= this.#options.maxUnackedBytes) throw this.#closedError();
      // After a resume, what the peer missed goes out first.
      await this.#resends();
      const copy = frame.slice();
      this.#unacked.push(copy);
      this.#unackedBytes += copy.length;
      this.#sent++;
      this.#stats.bytesSent += copy.length;
      this.#stats.framesSent++;
      await this.#write(this.#dataFrame(copy));
    });
    this.#sendChain = sending.catch(() => {});
    return sending;
  }

  /** Waits until no resend is under way (a resume during the wait starts another). */
  async #resends(): Promise<void> {
    for (let current = this.#resent;; current = this.#resent) {
      await current;
      if (current === this.#resent) return;
    }
  }

  /** The received frames, exactly once and in order across resumes. */
  frames(): AsyncIterable<Uint8Array> {
    return this.#incoming;
  }

  /** Resolves when the peer has acknowledged every frame sent so far. */
  async drain(): Promise<void> {
    await this.#sendChain;
    while (this.#acked < this.#sent) {
      if (this.#state === "closed") throw this.#closedError();
      await this.#nextAck();
    }
  }

  /**
   * Closes gracefully: sends still waiting for room are refused, what was
   * accepted is written (after a resume, if the link is down), then a close
   * frame, and the connection underneath closes the way it does (flushing).
   */
  async close(): Promise<void> {
    if (this.#state !== "open") return await this.closed;
    this.#state = "closing";
    for (const wake of this.#ackWaiters.splice(0)) wake();
    await this.#sendChain;
    await this.#resends();
    // Down and with frames the peer has not acknowledged: wait for the resume to deliver them.
    while (!this.#inner && this.#unacked.length > 0 && this.#state === "closing") {
      await new Promise<void>((resolve) => this.#attachWaiters.push(resolve));
    }
    await this.#write(control(CLOSE, this.#received));
    await this.#inner?.close().catch(() => {});
    this.#finish();
  }

  /** Counters of the application's frames. */
  stats(): ConnectionStats {
    return { ...this.#stats, bufferedBytes: this.#unackedBytes };
  }

  /** Takes over a fresh underlying connection after a handshake and resends what the peer missed. */
  attach({ inner, frames, peerReceived }: ResumeHandshake): void {
    if (this.#state === "closed") {
      inner.close().catch(() => {});
      return;
    }
    const previous = this.#inner;
    this.#inner = inner;
    const generation = ++this.#generation;
    if (previous && previous !== inner) previous.close().catch(() => {});
    if (this.#expiryTimer !== undefined) this.#options.clock.clearTimeout(this.#expiryTimer);
    this.#expiryTimer = undefined;
    this.#acknowledged(peerReceived);
    if (generation > 1) this.resumes++;
    // Resend what the peer has not received; sends wait for this (`#resent`) before writing.
    const resend = this.#unacked.slice();
    this.#resent = (async () => {
      for (const frame of resend) {
        if (this.#generation !== generation) return;
        if (generation > 1) this.retransmitted++;
        await this.#write(this.#dataFrame(frame));
      }
    })();
    this.#read(frames, generation);
    for (const wake of this.#attachWaiters.splice(0)) wake();
  }

  #dataFrame(payload: Uint8Array): Uint8Array {
    const frame = new Uint8Array(payload.length + 1);
    frame[0] = DATA;
    frame.set(payload, 1);
    return frame;
  }

  /** Writes on the current connection; a failure is a break, and the frame waits for the resume. */
  async #write(frame: Uint8Array): Promise<void> {
    const inner = this.#inner;
    if (!inner) return;
    try {
      await inner.send(frame);
    } catch (error) {
      if (isFatal(error)) this.#fail(error as Error);
      else this.#broken(inner);
    }
  }

  async #read(frames: AsyncIterator<Uint8Array>, generation: number): Promise<void> {
    const inner = this.#inner!;
    try {
      for (;;) {
        while (
          (this.#incoming.size >= MAX_BUFFERED_FRAMES || this.#incomingBytes >= MAX_BUFFERED_BYTES) &&
          this.#state !== "closed"
        ) {
          await new Promise<void>((resolve) => this.#spaceWaiter = resolve);
        }
        let next: IteratorResult<Uint8Array>;
        try {
          next = await frames.next();
        } catch (error) {
          if (isFatal(error)) return this.#fail(error as Error);
          break;
        }
        if (next.done || generation !== this.#generation) break;
        const frame = next.value;
        switch (frame[0]) {
          case DATA:
            this.#received++;
            this.#stats.bytesReceived += frame.length - 1;
            this.#stats.framesReceived++;
            this.#incomingBytes += frame.length - 1;
            this.#incoming.push(frame.subarray(1));
            this.#scheduleAck();
            break;
          case ACK:
            this.#acknowledged(countOf(frame));
            break;
          case CLOSE:
            this.#acknowledged(countOf(frame));
            this.#state = "closed";
            this.#incoming.end();
            await inner.close().catch(() => {});
            this.#finish();
            return;
          default:
            throw new SwitchyardError("FRAME_INVALID", `resumable: unknown frame type ${frame[0]}`);
        }
      }
    } catch (error) {
      // This layer's own frames were malformed: the peer is broken, not the link.
      return this.#fail(error as Error);
    }
    if (generation === this.#generation) this.#broken(inner);
  }

  #scheduleAck(): void {
    if (this.#received - this.#ackedToPeer >= ACK_EVERY_FRAMES) return this.#sendAck();
    if (this.#ackTimer !== undefined) return;
    this.#ackTimer = this.#options.clock.setTimeout(() => {
      this.#ackTimer = undefined;
      this.#sendAck();
    }, this.#options.ackDelayMs);
  }

  #sendAck(): void {
    if (this.#ackTimer !== undefined) this.#options.clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    if (this.#received === this.#ackedToPeer || this.#state === "closed") return;
    this.#ackedToPeer = this.#received;
    const inner = this.#inner;
    inner?.send(control(ACK, this.#received)).catch(() => {});
  }

  #acknowledged(peerReceived: number): void {
    while (this.#acked < peerReceived && this.#unacked.length > 0) {
      this.#unackedBytes -= this.#unacked.shift()!.length;
      this.#acked++;
    }
    for (const wake of this.#ackWaiters.splice(0)) wake();
  }

  #nextAck(): Promise<void> {
    return new Promise((resolve) => this.#ackWaiters.push(resolve));
  }

  /** The underlying connection broke: dial again (dialer) or wait for the peer (listener). */
  #broken(inner: TransportConnection): void {
    if (inner !== this.#inner || this.#state === "closed") return;
    this.#inner = undefined;
    this.#generation++;
    inner.close().catch(() => {});
    if (this.#redial) {
      this.#resume(this.#redial);
    } else {
      this.#expiryTimer = this.#options.clock.setTimeout(() => {
        this.#fail(new SwitchyardError("TRANSPORT_CLOSED", "resumable: the peer did not come back in time"));
      }, this.#options.resumeTimeoutMs);
    }
  }

  async #resume(redial: () => Promise<ResumeHandshake>): Promise<void> {
    const { clock, maxAttempts, initialBackoffMs, maxBackoffMs } = this.#options;
    let backoffMs = initialBackoffMs;
    let lastError: unknown;
    for (let attempt = 1; attempt <= maxAttempts && this.#state !== "closed"; attempt++) {
      await sleep(clock, backoffMs);
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
      try {
        return this.attach(await redial());
      } catch (error) {
        lastError = error;
      }
    }
    this.#fail(
      new SwitchyardError("TRANSPORT_CLOSED", `resumable: could not reconnect after ${maxAttempts} attempts`, {
        cause: lastError,
      }),
    );
  }

  #closedError(): Error {
    return this.#error ?? new SwitchyardError("TRANSPORT_CLOSED", "resumable: the connection is closed");
  }

  #fail(error: Error): void {
    if (this.#state === "closed") return;
    this.#error = error;
    this.#state = "closed";
    this.#incoming.fail(error);
    const inner = this.#inner;
    // Tell the peer the session is over (best effort), so it does not wait for a resume.
    inner?.send(control(CLOSE, this.#received)).catch(() => {}).finally(() => inner.close().catch(() => {}));
    this.#finish();
  }

  #finish(): void {
    this.#state = "closed";
    for (const timer of [this.#ackTimer, this.#expiryTimer]) {
      if (timer !== undefined) this.#options.clock.clearTimeout(timer);
    }
    for (const wake of [...this.#ackWaiters.splice(0), ...this.#attachWaiters.splice(0)]) wake();
    this.#spaceWaiter?.();
    this.#incoming.end();
    this.#onEnd();
    this.#resolveClosed();
  }
}

/**
 * Wraps `inner` so that its connections resume after breaks.
 *
 * @example
 * ```ts ignore
 * import { resumableTransport } from "./resumable.ts";
 * const transport = resumableTransport(tcp, { clock: new SystemClock() });
 * const connection = await transport.dial("10.0.0.2:7000"); // survives resets of the TCP connection
 * ```
 */
export function resumableTransport(inner: Transport, resumeOptions: ResumeOptions): Transport {
  const options = { ...DEFAULTS, ...resumeOptions };
  const maxFrameBytes = inner.maxFrameBytes - 1;

  /** Dials, says hello, and waits for the peer's hello. */
  async function handshake(address: string, sessionId: Uint8Array, received: number): Promise<ResumeHandshake> {
    const connection = await inner.dial(address);
    try {
      await connection.send(control(HELLO, received, sessionId));
      const frames = connection.frames()[Symbol.asyncIterator]();
      const first = await frames.next();
      const hello = parseHello(first.done ? undefined : first.value);
      if (hex(hello.sessionId) !== hex(sessionId)) {
        throw new SwitchyardError("FRAME_INVALID", "resumable: the peer answered for another session");
      }
      return { inner: connection, frames, peerReceived: hello.received };
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
  }

  return {
    name: `${inner.name}+resume`,
    maxFrameBytes,
    async dial(address) {
      const sessionId = crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES));
      const first = await handshake(address, sessionId, 0);
      const connection: ResumableConnection = new ResumableConnection(
        sessionId,
        address,
        maxFrameBytes,
        options,
        () => handshake(address, sessionId, connectionReceived(connection)),
        () => {},
      );
      connection.attach(first);
      return connection;
    },
    async listen(address) {
      const listener = await inner.listen(address);
      const sessions = new Map<string, ResumableConnection>();
      const accepted = new AsyncQueue<TransportConnection>();
      (async () => {
        for await (const connection of listener.connections()) {
          (async () => {
            const frames = connection.frames()[Symbol.asyncIterator]();
            try {
              const first = await frames.next();
              const hello = parseHello(first.done ? undefined : first.value);
              const key = hex(hello.sessionId);
              let session = sessions.get(key);
              const isNew = !session;
              session ??= new ResumableConnection(
                hello.sessionId,
                connection.remoteAddress,
                maxFrameBytes,
                options,
                undefined,
                () => sessions.delete(key),
              );
              sessions.set(key, session);
              await connection.send(control(HELLO, connectionReceived(session), hello.sessionId));
              session.attach({ inner: connection, frames, peerReceived: hello.received });
              if (isNew) accepted.push(session);
            } catch {
              await connection.close().catch(() => {});
            }
          })();
        }
        accepted.end();
      })();
      const wrapped: TransportListener = {
        address: listener.address,
        connections: () => accepted,
        close: () => listener.close(),
      };
      return wrapped;
    },
  };
}

/** Frames `connection` has received (what a hello reports). */
function connectionReceived(connection: ResumableConnection): number {
  return connection.stats().framesReceived;
}
