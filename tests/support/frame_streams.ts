/**
 * Numbered frame streams over a manager's per-mode components, for tests
 * that switch modes while frames flow:
 *
 * - {@linkcode ModeLink}: one mode's link to a receiver, a component
 *   implementation. `activate()` dials a connection of its own (a new
 *   generation, announced in a hello frame); `send()` queues a frame that a
 *   flusher hands to the connection on the next timer turn, as a socket's
 *   write buffer would; `drain()` waits until the queue is empty and the
 *   connection has delivered; `deactivate()` closes the connection and
 *   fails every frame still queued. A link deactivated without a complete
 *   drain therefore loses frames, visibly.
 * - {@linkcode GuardedCompressor}: a compressor implementation that counts
 *   its calls in flight, drains them, and refuses work while inactive.
 * - {@linkcode FrameReceiver}: takes the links' connections in generation
 *   order (the next one only once the previous has ended, which is how a
 *   receiver keeps one ordered stream across a change of connection) and
 *   checks that every stream's sequence numbers arrive exactly once, in
 *   order, with the bytes that were sent.
 *
 * Both component kinds record misuse (work started while not serving) in a
 * shared list, so a test also sees an adapter that serves an implementation
 * it has not activated or has already retired.
 *
 * @module
 */
import type { Clock, Compressor, Lifecycle, Mode } from "../../mod.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";

const encoder = new TextEncoder();
const HELLO = [0x47, 0x45, 0x4e, 0x31]; // "GEN1"

/** The payload of frame `sequence` of stream `stream`: the two numbers, then text of `sizeBytes` in all. */
export function streamPayload(stream: number, sequence: number, sizeBytes = 256): Uint8Array {
  const payload = new Uint8Array(sizeBytes);
  const view = new DataView(payload.buffer);
  view.setUint32(0, stream);
  view.setUint32(4, sequence);
  const text = encoder.encode(`stream ${stream} frame ${sequence}; `);
  for (let offset = 8; offset < sizeBytes; offset += text.length) {
    payload.set(text.subarray(0, sizeBytes - offset), offset);
  }
  return payload;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hello(generation: number): Uint8Array {
  const frame = new Uint8Array(8);
  frame.set(HELLO);
  new DataView(frame.buffer).setUint32(4, generation);
  return frame;
}

function helloGeneration(frame: Uint8Array | undefined): number | undefined {
  if (!frame || frame.length !== 8 || HELLO.some((byte, i) => frame[i] !== byte)) return undefined;
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(4);
}

type State = "inactive" | "active" | "draining";

interface Queued {
  frame: Uint8Array;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** What the links of one sender share. */
export interface LinkGroup {
  /** The clock the flushers run on. */
  clock: Clock;
  /** The last generation handed out; each activation takes the next. */
  lastGeneration: number;
  /** Misuse seen: work started on an implementation that was not serving. */
  misuse: string[];
  /** Frames handed to a connection while its link was draining (switches that had frames in flight). */
  flushedWhileDraining: number;
}

/** One mode's link to the receiver; see the module documentation. */
export class ModeLink implements Lifecycle {
  #state: State = "inactive";
  #connection: TransportConnection | undefined;
  #queue: Queued[] = [];
  #flushTimer: number | undefined;
  #flushing: Promise<void> | undefined;
  #idleWaiters: (() => void)[] = [];

  /** A link for `mode` that dials `address` over `transport`. */
  constructor(
    readonly mode: Mode,
    readonly transport: Transport,
    readonly address: string,
    readonly group: LinkGroup,
  ) {}

  /** Dials a new connection and announces its generation. */
  async activate(): Promise<void> {
    if (this.#state !== "inactive") this.group.misuse.push(`link ${this.mode}: activate() while ${this.#state}`);
    const connection = await this.transport.dial(this.address);
    await connection.send(hello(++this.group.lastGeneration));
    this.#connection = connection;
    this.#state = "active";
  }

  /** Queues `frame`; resolves once the connection took it, rejects if the link is retired first. */
  send(frame: Uint8Array): Promise<void> {
    if (this.#state !== "active") {
      this.group.misuse.push(`link ${this.mode}: send() while ${this.#state}`);
      if (this.#state === "inactive") return Promise.reject(new Error(`link ${this.mode} is not active`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ frame, resolve, reject });
      this.#scheduleFlush();
    });
  }

  /** Waits until every queued frame went out and the connection delivered it (or `signal` aborts). */
  async drain(signal: AbortSignal): Promise<void> {
    this.#state = "draining";
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    await Promise.race([this.#idle(), aborted]);
    if (this.#connection && !signal.aborted) await Promise.race([this.#connection.drain(), aborted]);
  }

  /** Closes the connection; frames still queued are lost (their sends reject). */
  async deactivate(): Promise<void> {
    this.#state = "inactive";
    if (this.#flushTimer !== undefined) this.group.clock.clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const connection = this.#connection;
    this.#connection = undefined;
    for (const item of this.#queue.splice(0)) {
      item.reject(new Error(`link ${this.mode} was deactivated with the frame unsent`));
    }
    this.#wakeIdle();
    await connection?.close();
  }

  #scheduleFlush(): void {
    if (this.#flushTimer !== undefined || this.#flushing) return;
    this.#flushTimer = this.group.clock.setTimeout(() => {
      this.#flushTimer = undefined;
      this.#flushing = this.#flush().finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0 && this.#connection) this.#scheduleFlush();
        this.#wakeIdle();
      });
    }, 0);
  }

  /** Hands what is queued now to the connection, in order; what is queued meanwhile waits for the next turn. */
  async #flush(): Promise<void> {
    const connection = this.#connection;
    for (const item of this.#queue.splice(0)) {
      try {
        if (!connection) throw new Error(`link ${this.mode} has no connection`);
        await connection.send(item.frame);
        if (this.#state === "draining") this.group.flushedWhileDraining++;
        item.resolve();
      } catch (error) {
        item.reject(error as Error);
      }
    }
  }

  /** Nothing queued, nothing being flushed: or retired, when nothing will be. */
  #isIdle(): boolean {
    return this.#state === "inactive" ||
      (this.#queue.length === 0 && !this.#flushing && this.#flushTimer === undefined);
  }

  #idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #wakeIdle(): void {
    if (this.#isIdle()) { for (const wake of this.#idleWaiters.splice(0)) wake(); }
  }
}

/** A compressor implementation with a lifecycle: it drains its calls in flight and refuses work while inactive. */
export class GuardedCompressor implements Compressor, Lifecycle {
  #state: State = "inactive";
  #inFlight = 0;
  #idleWaiters: (() => void)[] = [];

  /** Wraps `inner`, recording misuse in `misuse`. */
  constructor(readonly inner: Compressor, readonly misuse: string[]) {}

  /** The inner compressor's codec. */
  get codec(): string {
    return this.inner.codec;
  }

  /** Starts serving. */
  activate(): void {
    if (this.#state !== "inactive") this.misuse.push(`compressor ${this.codec}: activate() while ${this.#state}`);
    this.#state = "active";
  }

  /** Waits for the calls in flight. */
  async drain(signal: AbortSignal): Promise<void> {
    this.#state = "draining";
    if (this.#inFlight === 0) return;
    await new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  }

  /** Stops serving. */
  deactivate(): void {
    this.#state = "inactive";
  }

  /** Compresses with the inner compressor; refused while inactive. */
  compress(data: Uint8Array): Promise<Uint8Array> {
    return this.#run("compress", () => this.inner.compress(data));
  }

  /** Decompresses with the inner compressor; refused while inactive. */
  decompress(frame: Uint8Array): Promise<Uint8Array> {
    return this.#run("decompress", () => this.inner.decompress(frame));
  }

  async #run(what: string, work: () => Promise<Uint8Array>): Promise<Uint8Array> {
    if (this.#state !== "active") {
      this.misuse.push(`compressor ${this.codec}: ${what}() while ${this.#state}`);
      if (this.#state === "inactive") throw new Error(`compressor ${this.codec} is not active`);
    }
    this.#inFlight++;
    try {
      return await work();
    } finally {
      if (--this.#inFlight === 0) { for (const wake of this.#idleWaiters.splice(0)) wake(); }
    }
  }
}

/** What a {@linkcode FrameReceiver} found wrong, and what it took. */
export interface ReceiverReport {
  /** Frames accepted in order. */
  frames: number;
  /** Connections (generations) read to their end or still open. */
  generations: number;
  /** Frames per mode of the link that carried them. */
  framesByMode: Record<string, number>;
  /** Every frame that was out of sequence, corrupt or undecodable (the first 20 described). */
  violations: number;
  /** Descriptions of the first violations. */
  details: string[];
}

/** The receiving end; see the module documentation. */
export class FrameReceiver {
  /** The next sequence number expected per stream (absent: 1). */
  readonly expected = new Map<number, number>();
  readonly #report: ReceiverReport = { frames: 0, generations: 0, framesByMode: {}, violations: 0, details: [] };
  readonly #connections = new Map<number, { mode: string; frames: AsyncIterator<Uint8Array> }>();
  readonly #waiters = new Set<() => void>();
  readonly #decoders: Compressor[];
  readonly #reader: Promise<void>;
  #closed = false;
  #markClosed!: () => void;
  readonly #whenClosed = new Promise<void>((resolve) => this.#markClosed = resolve);
  #decoded = 0;

  /**
   * Accepts connections on `listeners` (keyed by the mode whose link dials
   * it) and reads them in generation order, decoding each frame with the
   * `decoders` in turn (whatever codec wrote it: frames are self-describing).
   */
  constructor(listeners: Record<string, TransportListener>, decoders: Compressor[]) {
    this.#decoders = decoders;
    for (const [mode, listener] of Object.entries(listeners)) this.#accept(mode, listener);
    this.#reader = this.#read();
  }

  /** What it received and found so far. */
  report(): ReceiverReport {
    return { ...this.#report, framesByMode: { ...this.#report.framesByMode }, details: [...this.#report.details] };
  }

  /** Stops reading (the listeners are the caller's to close). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#markClosed();
    this.#wake();
    await this.#reader;
  }

  #violation(detail: string): void {
    this.#report.violations++;
    if (this.#report.details.length < 20) this.#report.details.push(detail);
  }

  /** Greets every connection `listener` accepts, until it closes. */
  async #accept(mode: string, listener: TransportListener): Promise<void> {
    for await (const connection of listener.connections()) this.#greet(mode, connection);
  }

  /** Reads a new connection's hello, then files it under its generation for {@linkcode FrameReceiver.#read}. */
  async #greet(mode: string, connection: TransportConnection): Promise<void> {
    const frames = connection.frames()[Symbol.asyncIterator]();
    const first = await Promise.race([frames.next(), this.#whenClosed.then(() => undefined)]).catch(() => undefined);
    if (this.#closed) return;
    const generation = helloGeneration(first?.done ? undefined : first?.value);
    if (generation === undefined) {
      this.#violation(`a connection on the ${mode} link did not start with a hello`);
      return;
    }
    this.#connections.set(generation, { mode, frames });
    this.#wake();
  }

  async #read(): Promise<void> {
    for (let generation = 1; !this.#closed; generation++) {
      const connection = await this.#connection(generation);
      if (!connection) return;
      this.#report.generations++;
      for (;;) {
        const next = await Promise.race([
          connection.frames.next(),
          this.#whenClosed.then(() => ({ done: true as const, value: undefined })),
        ]).catch((error) => {
          this.#violation(`generation ${generation} (${connection.mode}) failed: ${(error as Error).message}`);
          return { done: true as const, value: undefined };
        });
        if (next.done) break;
        await this.#take(next.value, generation, connection.mode);
      }
      this.#connections.delete(generation);
    }
  }

  async #take(frame: Uint8Array, generation: number, mode: string): Promise<void> {
    let payload: Uint8Array;
    try {
      payload = await this.#decoders[this.#decoded++ % this.#decoders.length].decompress(frame);
    } catch (error) {
      this.#violation(`generation ${generation} (${mode}): undecodable frame: ${(error as Error).message}`);
      return;
    }
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const stream = view.getUint32(0);
    const sequence = view.getUint32(4);
    const expected = this.expected.get(stream) ?? 1;
    if (!sameBytes(payload, streamPayload(stream, sequence, payload.length))) {
      this.#violation(`stream ${stream} frame ${sequence} (generation ${generation}, ${mode}): corrupt payload`);
    } else if (sequence !== expected) {
      const what = sequence < expected ? "duplicated or reordered" : "lost or reordered";
      this.#violation(
        `stream ${stream}: frame ${sequence} arrived when ${expected} was due (${what}; generation ${generation}, ${mode})`,
      );
      if (sequence > expected) this.expected.set(stream, sequence + 1);
    } else {
      this.expected.set(stream, expected + 1);
      this.#report.frames++;
      this.#report.framesByMode[mode] = (this.#report.framesByMode[mode] ?? 0) + 1;
    }
  }

  /** The connection of `generation` once it is accepted; undefined once closed. */
  async #connection(generation: number) {
    while (!this.#closed) {
      const connection = this.#connections.get(generation);
      if (connection) return connection;
      await new Promise<void>((resolve) => this.#waiters.add(resolve));
    }
    return undefined;
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
