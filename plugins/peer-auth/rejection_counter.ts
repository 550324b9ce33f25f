/**
 * Counts refused peer input per reason and logs it without flooding: the
 * first refusal of each reason at once, then at most one line per reason per
 * interval, saying how many were not logged in between.
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";
import type { LogFields, Logger } from "../../core/util/logger.ts";

/** How a {@linkcode RejectionCounter} logs. */
export interface RejectionCounterOptions {
  /** Where to log (at `warn`). */
  logger: Logger;
  /** Time source of the rate limit. */
  clock: Clock;
  /** What is refused, for the log line, e.g. `"raft peer frame"`. */
  subject: string;
  /** Least time between two lines of one reason, in ms (default 10,000). */
  logEveryMs?: number;
}

/**
 * Per-reason counters with a rate-limited log.
 *
 * @example
 * ```ts
 * import { SystemClock } from "../../core/util/clock.ts";
 * import { consoleLogger } from "../../core/util/logger.ts";
 * import { RejectionCounter } from "./rejection_counter.ts";
 * const rejected = new RejectionCounter(["bad-mac", "replayed"] as const, {
 *   logger: consoleLogger(), clock: new SystemClock(), subject: "peer frame",
 * });
 * rejected.record("bad-mac", { from: "n9" }); // logged
 * rejected.record("bad-mac", { from: "n9" }); // counted, logged later with `suppressed: 1`
 * rejected.counts(); // { "bad-mac": 2, replayed: 0 }
 * ```
 */
export class RejectionCounter<Reason extends string> {
  readonly #counts: Record<Reason, number>;
  readonly #lastLoggedMs = new Map<Reason, number>();
  readonly #suppressed = new Map<Reason, number>();
  readonly #options: RejectionCounterOptions;

  /** Counters for `reasons`, all zero. */
  constructor(reasons: readonly Reason[], options: RejectionCounterOptions) {
    this.#counts = Object.fromEntries(reasons.map((reason) => [reason, 0])) as Record<Reason, number>;
    this.#options = options;
  }

  /** Counts one refusal and logs it if this reason has not been logged for the interval. */
  record(reason: Reason, fields: LogFields = {}): void {
    this.#counts[reason] = (this.#counts[reason] ?? 0) + 1;
    const now = this.#options.clock.now();
    const last = this.#lastLoggedMs.get(reason);
    if (last !== undefined && now - last < (this.#options.logEveryMs ?? 10_000)) {
      this.#suppressed.set(reason, (this.#suppressed.get(reason) ?? 0) + 1);
      return;
    }
    const suppressed = this.#suppressed.get(reason) ?? 0;
    this.#lastLoggedMs.set(reason, now);
    this.#suppressed.delete(reason);
    this.#options.logger.warn(`${this.#options.subject} dropped: ${reason}`, {
      ...fields,
      total: this.#counts[reason],
      ...(suppressed > 0 ? { suppressed } : {}),
    });
  }

  /** A copy of the counters. */
  counts(): Record<Reason, number> {
    return { ...this.#counts };
  }
}
