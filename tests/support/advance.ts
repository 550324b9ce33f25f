/**
 * Letting manual time pass until something happens: take a step (advance a
 * ManualClock, or a harness's time) until a condition holds or a promise
 * settles, and fail with a message after a bounded number of steps.
 *
 * @module
 */
import assert from "node:assert/strict";

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
