/**
 * What a listener does when `accept()` fails. A failure caused by one
 * connection (reset or aborted before it was accepted) is counted and the
 * listener accepts again at once; running out of descriptors (`EMFILE`,
 * `ENFILE`) or any other failure backs off (10 ms, doubling to 1 s, on the
 * injected clock) so the loop never spins, and the next accepted connection
 * resets the backoff. Every failure is counted; the first of each code and
 * then every power-of-two count are logged, so a flood cannot flood the log.
 *
 * @module
 */
import { type Clock, sleep } from "../../core/util/clock.ts";
import type { Logger } from "../../core/util/logger.ts";
import { logsOccurrence } from "./log_occurrence.ts";

/** First wait after an accept failure that is not one connection's fault. */
export const ACCEPT_BACKOFF_INITIAL_MS = 10;
/** Longest wait between accept attempts while failures go on. */
export const ACCEPT_BACKOFF_MAX_MS = 1_000;

/** Codes of accept failures that concern one connection only: accepting the next one can go on at once. */
const ONE_CONNECTION = new Set([
  "ENOTCONN",
  "ECONNRESET",
  "ECONNABORTED",
  "EPROTO",
  "EPERM",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EINTR",
  "EAGAIN",
]);

/** Codes of accept failures that mean the process is out of descriptors (or kernel memory). */
const EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** Counters of a transport's accept failures. */
export interface AcceptErrorCounts {
  /** Accepts that failed, for any reason. */
  acceptErrors: number;
  /** Of those, failures for want of descriptors (`EMFILE`, `ENFILE`) or kernel memory. */
  acceptErrorsExhausted: number;
}

/**
 * The error's errno-style code (`"EMFILE"`, `"ENOTCONN"`, ...), read from
 * its `code` or, failing that, from an `os error N` in its message.
 */
export function acceptErrorCode(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.length > 0) return code;
  const errno = /os error (\d+)/.exec(error.message)?.[1];
  const known: Record<string, string> = { "24": "EMFILE", "23": "ENFILE", "107": "ENOTCONN", "104": "ECONNRESET" };
  return (errno && known[errno]) ?? error.name ?? "UNKNOWN";
}

/** Handles the accept failures of one listener. */
export interface AcceptErrorHandler {
  /** Counts and logs `error`; resolves when the listener should accept again. Never rejects. */
  acceptFailed(error: Error): Promise<void>;
  /** A connection was accepted: the backoff starts over. */
  acceptSucceeded(): void;
}

/** Where an {@linkcode AcceptErrorHandler} counts, logs and waits. */
export interface AcceptErrorOptions {
  /** The clock backoffs wait on. */
  clock: Clock;
  /** Where failures are logged (at `warn`). */
  logger?: Logger;
  /** The listener's address, for the log (read when logging). */
  readonly address: string;
  /** Counters to add to (shared by a transport's listeners). */
  counts: AcceptErrorCounts;
  /** Aborted when the listener closes: a backoff under way ends at once. */
  signal: AbortSignal;
}

/** Creates the accept-failure policy for one listener. */
export function acceptErrorHandler(options: AcceptErrorOptions): AcceptErrorHandler {
  const { clock, logger, counts, signal } = options;
  const perCode = new Map<string, number>();
  let backoffMs = 0;
  return {
    async acceptFailed(error) {
      const code = acceptErrorCode(error);
      counts.acceptErrors++;
      const exhausted = EXHAUSTED.has(code);
      if (exhausted) counts.acceptErrorsExhausted++;
      const waitMs = ONE_CONNECTION.has(code)
        ? 0
        : (backoffMs = Math.min(ACCEPT_BACKOFF_MAX_MS, backoffMs === 0 ? ACCEPT_BACKOFF_INITIAL_MS : backoffMs * 2));
      const seen = (perCode.get(code) ?? 0) + 1;
      perCode.set(code, seen);
      if (logsOccurrence(seen)) {
        logger?.warn(
          exhausted
            ? "accept failed: out of file descriptors; the listener backs off and carries on"
            : "accept failed; the listener carries on",
          {
            address: options.address,
            code,
            error: error.message,
            timesWithThisCode: seen,
            acceptErrors: counts.acceptErrors,
            waitMs,
          },
        );
      }
      if (waitMs > 0 && !signal.aborted) await sleep(clock, waitMs, signal).catch(() => {/* the listener closed */});
    },
    acceptSucceeded() {
      backoffMs = 0;
    },
  };
}
