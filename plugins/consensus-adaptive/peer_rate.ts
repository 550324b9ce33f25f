/**
 * A token bucket per peer: what one member may send on the control channel
 * in a burst, and how fast it earns more. A member holding the cluster's keys
 * can still send garbage the frames' authentication accepts; this keeps what
 * it costs the others (a proposal per relayed entry, a decode per handover)
 * bounded by time, not by its will.
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";

/** A per-peer token bucket on `clock`. */
export class PeerRate {
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  /** At most `burst` at once from one peer, refilled at `perSecond`. */
  constructor(clock: Clock, burst: number, perSecond: number) {
    this.#clock = clock;
    this.#burst = burst;
    this.#perSecond = perSecond;
  }

  /** Takes one token for `peer`; false when its bucket is empty (drop what it sent). */
  take(peer: string): boolean {
    const now = this.#clock.now();
    const bucket = this.#buckets.get(peer) ?? { tokens: this.#burst, atMs: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.atMs) * this.#perSecond) / 1000);
    bucket.atMs = now;
    this.#buckets.set(peer, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }
}
