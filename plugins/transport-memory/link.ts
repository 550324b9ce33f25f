/**
 * The emulated link: one-way delay, jitter, bandwidth and loss, deterministic
 * for a seed. The kernel here has no `netem`; this is the user-space model
 * that tests, simulations and demos use instead.
 *
 * Frames are serialized at the link's bandwidth one after another, then take
 * the one-way delay plus jitter to arrive. The transport is reliable, like
 * TCP: a lost frame arrives late (after a retransmission delay) instead of
 * never, and frames behind it wait, so order is kept.
 *
 * @module
 */
import { seededRandom } from "../../core/util/random.ts";

/** What a link does to the bytes crossing it. */
export interface LinkModel {
  /** One-way delay; the round trip is twice this. */
  delayMs: number;
  /** Uniform jitter of ± this, added to the delay. */
  jitterMs: number;
  /** Bandwidth; 0 or Infinity means unlimited. */
  bandwidthMbps: number;
  /** Share of frames lost once and retransmitted, 0–1. */
  lossRatio: number;
}

/** A perfect link: no delay, no limit, no loss. */
export const PERFECT_LINK: LinkModel = { delayMs: 0, jitterMs: 0, bandwidthMbps: 0, lossRatio: 0 };

/**
 * When each chunk sent on one direction of a link arrives.
 *
 * @example
 * ```ts
 * import { LinkSchedule } from "./link.ts";
 * const link = new LinkSchedule({ delayMs: 10, jitterMs: 0, bandwidthMbps: 8, lossRatio: 0 }, 1);
 * link.arrival(0, 1000); // 11: 1 ms to serialize 1000 bytes at 8 Mbps, then 10 ms of delay
 * ```
 */
export class LinkSchedule {
  readonly #model: () => LinkModel;
  readonly #random: () => number;
  #busyUntilMs = 0;
  #lastArrivalMs = 0;

  /**
   * Creates the schedule of one direction; `seed` fixes jitter and loss.
   * `model` may be a function, read at every send, so a link can change under
   * open connections (as a real network does).
   */
  constructor(model: LinkModel | (() => LinkModel), seed: number) {
    const fixed = typeof model === "function" ? undefined : { ...model };
    this.#model = fixed ? () => fixed : model as () => LinkModel;
    const random = seededRandom(seed);
    this.#random = () => random.next();
  }

  /** The model in force now. */
  get model(): Readonly<LinkModel> {
    return this.#model();
  }

  /** True when chunks arrive at once (no delay, limit or loss): delivery can skip timers. */
  get instant(): boolean {
    const { delayMs, jitterMs, bandwidthMbps, lossRatio } = this.#model();
    return delayMs === 0 && jitterMs === 0 && (!bandwidthMbps || !Number.isFinite(bandwidthMbps)) && lossRatio === 0;
  }

  /** The arrival time of `bytes` handed to the link at `nowMs`. */
  arrival(nowMs: number, bytes: number): number {
    const { delayMs, jitterMs, bandwidthMbps, lossRatio } = this.#model();
    const start = Math.max(nowMs, this.#busyUntilMs);
    const serializeMs = bandwidthMbps > 0 && Number.isFinite(bandwidthMbps) ? (bytes * 8) / (bandwidthMbps * 1000) : 0;
    this.#busyUntilMs = start + serializeMs;
    let arrivalMs = this.#busyUntilMs + Math.max(0, delayMs + jitterMs * (2 * this.#random() - 1));
    if (lossRatio > 0 && this.#random() < lossRatio) arrivalMs += Math.max(2 * delayMs, 1);
    arrivalMs = Math.max(arrivalMs, this.#lastArrivalMs);
    this.#lastArrivalMs = arrivalMs;
    return arrivalMs;
  }
}
