/**
 * Letting manual time pass until something happens: take a step (advance a
 * ManualClock, or a harness's time) until a condition holds or a promise
 * settles, and fail with a message after a bounded number of steps.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ManualClock } from "../core/util/clock.ts";

/** Takes `step` until `done()`; fails with `failure` once `maxSteps` steps did not get there. */
export async function stepUntil(
  step: () => Promise<void>,
  done: () => boolean,
  maxSteps: number,
  failure: string,
): Promise<void> {
  for (let steps = 0; !done(); steps++) {
    if (steps >= maxSteps) assert.fail(failure);
    await step();
  }
}

/** Takes `step` until `work` settles, then returns its value or throws its error. */
export async function stepUntilSettled<T>(
  step: () => Promise<void>,
  work: Promise<T>,
  maxSteps: number,
  failure: string,
): Promise<T> {
  let outcome: { value: T } | { error: unknown } | undefined;
  work.then((value) => outcome = { value }, (error) => outcome = { error });
  await stepUntil(step, () => outcome !== undefined, maxSteps, failure);
  if ("error" in outcome!) throw outcome.error;
  return outcome!.value;
}

/**
 * Waits, in real time, until none of `nodes` is sealing or opening a peer
 * frame (WebCrypto runs off the event loop, so manual time must not move on
 * while it works). Call it after a turn of the event loop (ManualClock's
 * `advance` ends with one): by then the work a finished operation set off
 * has run up to its next wait, so a count of 0 means quiet.
 */
export async function peerCryptoIdle(
  nodes: () => Iterable<{ peerCryptoInFlight: number; peerCryptoIdle(): Promise<void> } | undefined>,
): Promise<void> {
  const busy = () => [...nodes()].filter((node) => node !== undefined && node.peerCryptoInFlight > 0);
  for (let round = 0, waiting = busy(); waiting.length > 0 && round < 10_000; round++, waiting = busy()) {
    await Promise.all(waiting.map((node) => node!.peerCryptoIdle()));
    await new Promise((resolve) => setImmediate(resolve)); // let what the finished operations set off start
  }
}

/**
 * A ManualClock whose `advance` also waits for `settle` once time has moved,
 * e.g. {@linkcode peerCryptoIdle}: work that runs off the event loop then
 * finishes at the manual time it started, as in-process work does.
 */
export class SettlingClock extends ManualClock {
  readonly #settle: () => Promise<void>;

  /** A clock reading `startMs` that waits for `settle` after every advance. */
  constructor(settle: () => Promise<void>, startMs = 0) {
    super(startMs);
    this.#settle = settle;
  }

  /** Moves time forward like ManualClock, then waits for `settle`. */
  override async advance(ms: number): Promise<void> {
    await super.advance(ms);
    await this.#settle();
  }
}
