/**
 * The replay state a receiver keeps for one sender, in the manner of IPsec's
 * anti-replay window: the sender's newest session and, in it, the highest
 * frame counter seen with a bitmap of which of the `size` counters below it
 * were seen. Memory is fixed (`size` bits) however long the session runs.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";

/** What a window says of a frame's (session, counter). */
export type ReplayVerdict =
  /** First time seen: accepted and recorded. */
  | "fresh"
  /** Seen before in this session. */
  | "replayed"
  /** Too far behind the newest counter of the session to tell: refused. */
  | "outside-window"
  /** From an older session (an earlier run of the sender) than one already seen. */
  | "stale-session";

/** Counters remembered behind the newest one, by default. */
export const DEFAULT_REPLAY_WINDOW = 1024;

/**
 * One sender's anti-replay window.
 *
 * @example
 * ```ts
 * import { ReplayWindow } from "./replay_window.ts";
 * const window = new ReplayWindow();
 * window.accept(1, 2); // "fresh"
 * window.accept(1, 1); // "fresh" (out of order, inside the window)
 * window.accept(1, 2); // "replayed"
 * window.accept(0, 9); // "stale-session"
 * ```
 */
export class ReplayWindow {
  /** Counters remembered behind the newest. */
  readonly size: number;
  #session = -Infinity;
  #highest = 0;
  readonly #seen: Uint32Array;

  /** A window remembering `size` counters (a multiple of 32, at least 32). */
  constructor(size = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0) {
      throw new SwitchyardError("INVALID_ARGUMENT", `replay window size must be a multiple of 32 >= 32, got ${size}`);
    }
    this.size = size;
    this.#seen = new Uint32Array(size / 32);
  }

  /** The newest session seen (`-Infinity` before any). */
  get session(): number {
    return this.#session;
  }

  /** The highest counter seen in {@linkcode ReplayWindow.session}. */
  get highest(): number {
    return this.#highest;
  }

  /**
   * Checks a frame's `session` and `counter` (an integer >= 1) and records
   * it when it is fresh; a newer session replaces the old one. Call only for
   * frames whose authenticity is already verified, or a forger could move
   * the window.
   */
  accept(session: number, counter: number): ReplayVerdict {
    if (session < this.#session) return "stale-session";
    if (session > this.#session) {
      this.#session = session;
      this.#highest = 0;
      this.#seen.fill(0);
    }
    if (counter > this.#highest) {
      if (counter - this.#highest >= this.size) this.#seen.fill(0);
      else for (let c = this.#highest + 1; c < counter; c++) this.#clear(c);
      this.#highest = counter;
      this.#set(counter);
      return "fresh";
    }
    if (counter <= this.#highest - this.size) return "outside-window";
    if (this.#has(counter)) return "replayed";
    this.#set(counter);
    return "fresh";
  }

  #bit(counter: number): [number, number] {
    const slot = counter % this.size;
    return [slot >>> 5, 1 << (slot & 31)];
  }

  #has(counter: number): boolean {
    const [word, mask] = this.#bit(counter);
    return (this.#seen[word] & mask) !== 0;
  }

  #set(counter: number): void {
    const [word, mask] = this.#bit(counter);
    this.#seen[word] |= mask;
  }

  #clear(counter: number): void {
    const [word, mask] = this.#bit(counter);
    this.#seen[word] &= ~mask;
  }
}
