/**
 * Bounding work in time on a {@linkcode Clock}.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** What {@linkcode runWithTimeout} resolved to. */
export type TimedResult<T> = { timedOut: false; value: T } | { timedOut: true };

/**
 * Runs `work(signal)` and waits for it at most `timeoutMs` on `clock`. On
 * timeout the signal aborts and `{ timedOut: true }` is returned at once:
 * the caller never waits for work that ignores its signal. Errors thrown by
 * `work` are rethrown; when `parent` aborts, the work is aborted and the
 * parent's reason is thrown.
 *
 * @example
 * ```ts
 * import { ManualClock } from "./clock.ts";
 * import { runWithTimeout } from "./timeout.ts";
 * const clock = new ManualClock();
 * const pending = runWithTimeout(clock, 50, () => new Promise(() => {}));
 * await clock.advance(50);
 * (await pending).timedOut; // true
 * ```
 */
export function runWithTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  work: (signal: AbortSignal) => T | Promise<T>,
  parent?: AbortSignal,
): Promise<TimedResult<T>> {
  const controller = new AbortController();
  return new Promise<TimedResult<T>>((resolve, reject) => {
    let settled = false;
    const onParentAbort = () => {
      controller.abort(parent?.reason);
      finish(() => reject(parent?.reason));
    };
    // An infinite bound means no timer at all (runtimes treat huge delays as 1 ms).
    const timer = Number.isFinite(timeoutMs)
      ? clock.setTimeout(() => {
        if (settled) return;
        settled = true;
        parent?.removeEventListener("abort", onParentAbort);
        controller.abort(new DOMException(`timed out after ${timeoutMs} ms`, "TimeoutError"));
        resolve({ timedOut: true });
      }, timeoutMs)
      : undefined;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
      outcome();
    };
    if (parent?.aborted) return onParentAbort();
    parent?.addEventListener("abort", onParentAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(work(controller.signal));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => finish(() => resolve({ timedOut: false, value })),
      (error) => finish(() => reject(error)),
    );
  });
}
