/**
 * What a leader knows about each follower's log, and how many appends it
 * has in flight to it (pipelining).
 *
 * @module
 */

/**
 * `probe`: one append at a time until the follower's match is found.
 * `replicate`: appends are pipelined, up to the in-flight limit.
 */
export type ProgressState = "probe" | "replicate";

/**
 * Replication progress of one follower.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const progress = new Progress(11, 4);
 * progress.paused; // false: a probe may be sent
 * ```
 */
export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  /** How appends are sent. */
  state: ProgressState = "probe";
  /** A probe is out and unanswered. */
  probeSent = false;
  /** Heard from in the current check-quorum period. */
  recentActive = true;
  /** Last index of each append in flight (replicate state). */
  readonly inflight: number[] = [];
  readonly #maxInflight: number;

  /** Starts probing at `next`. */
  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.#maxInflight = maxInflight;
  }

  /** True when no append should be sent now. */
  get paused(): boolean {
    return this.state === "probe" ? this.probeSent : this.inflight.length >= this.#maxInflight;
  }

  /** Records an acknowledged match; returns true when it moved forward. */
  update(index: number): boolean {
    this.inflight.splice(0, this.inflight.filter((last) => last <= index).length);
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.probeSent = false;
    return true;
  }

  /** Records an append sent, with the last index it carried. */
  sent(lastIndex: number, carriedEntries: boolean): void {
    if (this.state === "replicate") {
      if (carriedEntries) {
        this.next = lastIndex + 1;
        this.inflight.push(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** Back to probing from `next`. */
  probeFrom(next: number): void {
    this.state = "probe";
    this.probeSent = false;
    this.next = Math.max(this.match + 1, next);
    this.inflight.length = 0;
  }

  /** Starts pipelining after a successful probe. */
  replicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.inflight.length = 0;
  }

  /** A heartbeat answer: let a stalled probe or a full pipeline move again. */
  heartbeatAnswered(): void {
    this.probeSent = false;
    if (this.inflight.length >= this.#maxInflight) this.inflight.shift();
  }
}
