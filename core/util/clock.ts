/**
 * Time, behind one contract. The core never calls the runtime's timers
 * directly: production code uses {@linkcode SystemClock}, tests drive a
 * {@linkcode ManualClock} and never sleep.
 *
 * @module
 */
import { SwitchyardError } from "./errors.ts";
import { setImmediate } from "node:timers";

/** Opaque handle of a scheduled timer. */
export type TimerId = number;

/** The time source and timer service every core component uses. */
export interface Clock {
  /** Milliseconds since the Unix epoch (or since the clock's origin for a manual clock). */
  now(): number;
  /** Runs `callback` once after `delayMs`; returns a handle for {@linkcode Clock.clearTimeout}. */
  setTimeout(callback: () => void, delayMs: number): TimerId;
  /** Cancels a timer; unknown or already fired handles are ignored. */
  clearTimeout(id: TimerId): void;
}

/**
 * Resolves after `delayMs` on `clock`, or rejects with the signal's reason
 * when `signal` aborts first.
 *
 * @example
 * ```ts
 * import { ManualClock, sleep } from "./clock.ts";
 * const clock = new ManualClock();
 * const done = sleep(clock, 100);
 * await clock.advance(100);
 * await done;
 * ```
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(id);
      reject(signal?.reason);
    };
    const id = clock.setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The longest delay runtimes' timers accept; longer ones fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The real clock: wall time and the runtime's timers.
 *
 * @example
 * ```ts
 * import { SystemClock } from "./clock.ts";
 * const clock = new SystemClock();
 * const id = clock.setTimeout(() => console.log("later"), 1000);
 * clock.clearTimeout(id);
 * ```
 */
export class SystemClock implements Clock {
  /** Wall time in epoch milliseconds. */
  now(): number {
    return Date.now();
  }

  /** Schedules `callback` with the runtime's `setTimeout` (delays clamp to 0 … 2^31 − 1 ms). */
  setTimeout(callback: () => void, delayMs: number): TimerId {
    const clampedMs = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, Number.isNaN(delayMs) ? 0 : delayMs));
    return setTimeout(callback, clampedMs) as unknown as TimerId;
  }

  /** Cancels a timer made by {@linkcode SystemClock.setTimeout}. */
  clearTimeout(id: TimerId): void {
    clearTimeout(id);
  }
}

interface ManualTimer {
  id: TimerId;
  dueMs: number;
  callback: () => void;
}

/**
 * Lets every already-queued microtask and one macrotask turn run. It uses
 * `setImmediate`, not `setTimeout(0)`: runtimes clamp nested zero timers to
 * about 1–4 ms, which made every manual timer cost that much real time.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock that only moves when told to. Timers fire in due order, ties in
 * the order they were set; after each one fires, the event loop gets a turn so
 * that the promise chains the timer started can run to their next wait.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * const clock = new ManualClock();
 * let fired = false;
 * clock.setTimeout(() => fired = true, 1000);
 * await clock.advance(999); // fired === false
 * await clock.advance(1); // fired === true
 * ```
 */
export class ManualClock implements Clock {
  #nowMs: number;
  #nextId = 1;
  #timers: ManualTimer[] = [];

  /** Creates a clock reading `startMs`. */
  constructor(startMs = 0) {
    this.#nowMs = startMs;
  }

  /** The current manual time. */
  now(): number {
    return this.#nowMs;
  }

  /** Schedules `callback` at `now() + delayMs` (negative delays count as 0). */
  setTimeout(callback: () => void, delayMs: number): TimerId {
    const id = this.#nextId++;
    this.#timers.push({ id, dueMs: this.#nowMs + Math.max(0, delayMs), callback });
    return id;
  }

  /** Cancels a pending timer. */
  clearTimeout(id: TimerId): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== id);
  }

  /** How many timers are waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** When the next timer is due, or `undefined` when none is pending. */
  nextDueMs(): number | undefined {
    return this.#earliest()?.dueMs;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due (including
   * ones scheduled by the timers it fires) and letting the work they start run.
   * Errors thrown by timer callbacks are the callbacks' own: rethrown at the
   * end, one as it is, several as an `AggregateError`. Throws
   * `INVALID_ARGUMENT` for a negative or non-finite `ms`.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new SwitchyardError("INVALID_ARGUMENT", `advance(ms): ms must be a finite number >= 0, got ${ms}`);
    }
    const targetMs = this.#nowMs + ms;
    const errors: unknown[] = [];
    await yieldToEventLoop();
    for (;;) {
      const timer = this.#earliest();
      if (!timer || timer.dueMs > targetMs) break;
      this.#timers = this.#timers.filter((t) => t !== timer);
      this.#nowMs = Math.max(this.#nowMs, timer.dueMs);
      try {
        timer.callback();
      } catch (error) {
        errors.push(error);
      }
      await yieldToEventLoop();
    }
    this.#nowMs = targetMs;
    await yieldToEventLoop();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "timer callbacks threw");
  }

  #earliest(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const timer of this.#timers) {
      if (!best || timer.dueMs < best.dueMs) best = timer;
    }
    return best;
  }
}
