/**
 * The bookkeeping behind a TCP transport's guards against its peers: the
 * counters `stats()` reports, partial-frame budgets whose use shows in them,
 * and what happens when a connection closes itself on its peer or a listener
 * turns one away (counted; logged the first time and at every power of two,
 * so a flood of bad peers cannot flood the log).
 *
 * @module
 */
import type { SwitchyardError } from "../../core/util/errors.ts";
import { type FrameBudget, FrameBudgetPool } from "../transport-kit/length_prefix.ts";
import type { Logger } from "../../core/util/logger.ts";
import { logsOccurrence } from "./log_occurrence.ts";
import type { AcceptErrorCounts } from "./accept_errors.ts";
import type { StreamConnection, StreamFault } from "./stream_connection.ts";

/** What a TCP transport counts besides its dials: every count since it was created, over its listeners and dials. */
export interface GuardCounters extends AcceptErrorCounts {
  /** Connections accepted (including those closed at once past `maxConnections`). */
  accepted: number;
  /** Connections open now, accepted and dialed. */
  connectionsOpen: number;
  /** Accepted connections closed at once because their listener had `maxConnections` open. */
  connectionsRejected: number;
  /** Connections closed because the peer sent nothing within `firstByteTimeoutMs`. */
  firstByteTimeouts: number;
  /** Connections closed because the peer stalled in a frame for `frameStallTimeoutMs`. */
  frameStallTimeouts: number;
  /** Connections closed because a frame did not fit in `maxPartialFrameBytes`. */
  framesOverBudget: number;
  /** Connections closed because a frame's length was past `maxFrameBytes`. */
  framesTooLarge: number;
  /** Connections that ended in the middle of a frame. */
  framesCutShort: number;
  /** Bytes reserved now by unfinished frames (an upper bound on what they hold), over every connection. */
  partialFrameReservedBytes: number;
  /** The most bytes unfinished frames had reserved at once. */
  partialFrameReservedPeakBytes: number;
}

/** Which counter each fault a connection closes itself for adds to. */
const FAULT_COUNTER = {
  "first-byte-timeout": "firstByteTimeouts",
  "frame-stall-timeout": "frameStallTimeouts",
  "frame-over-budget": "framesOverBudget",
  "frame-too-large": "framesTooLarge",
  "frame-invalid": "framesCutShort",
} as const satisfies Record<StreamFault, keyof GuardCounters>;

/** A transport's guard counters and the hooks that keep them. */
export class ConnectionGuards {
  /** The counters (read them for `stats()`). */
  readonly counters: GuardCounters = {
    accepted: 0,
    connectionsOpen: 0,
    connectionsRejected: 0,
    acceptErrors: 0,
    acceptErrorsExhausted: 0,
    firstByteTimeouts: 0,
    frameStallTimeouts: 0,
    framesOverBudget: 0,
    framesTooLarge: 0,
    framesCutShort: 0,
    partialFrameReservedBytes: 0,
    partialFrameReservedPeakBytes: 0,
  };
  readonly #partialFrameBytes: number;
  readonly #logger: Logger | undefined;

  /** Guards whose budgets each hold `maxPartialFrameBytes`; what they turn away is logged to `logger`. */
  constructor(maxPartialFrameBytes: number, logger?: Logger) {
    this.#partialFrameBytes = maxPartialFrameBytes;
    this.#logger = logger;
  }

  /** A new budget of `maxPartialFrameBytes` (one per listener, one for all dials) counted in the totals. */
  budget(): FrameBudget {
    const pool = new FrameBudgetPool(this.#partialFrameBytes);
    const counters = this.counters;
    return {
      reserve(bytes) {
        if (!pool.reserve(bytes)) return false;
        counters.partialFrameReservedBytes += bytes;
        counters.partialFrameReservedPeakBytes = Math.max(
          counters.partialFrameReservedPeakBytes,
          counters.partialFrameReservedBytes,
        );
        return true;
      },
      release(bytes) {
        pool.release(bytes);
        counters.partialFrameReservedBytes -= bytes;
      },
    };
  }

  /** For a connection's `onFault`: counts and logs why it closed itself. */
  readonly onFault = (fault: StreamFault, error: SwitchyardError): void => {
    const times = ++this.counters[FAULT_COUNTER[fault]];
    if (logsOccurrence(times)) {
      this.#logger?.warn(`closed a connection: ${error.message}`, { code: error.code, fault, times });
    }
  };

  /** Counts `connection` as open until it closes; returns it. */
  track(connection: StreamConnection): StreamConnection {
    this.counters.connectionsOpen++;
    void connection.closed.then(() => this.counters.connectionsOpen--);
    return connection;
  }

  /** Counts and logs a connection a listener at `maxConnections` closed at once. */
  rejected(address: string, maxConnections: number): void {
    const connectionsRejected = ++this.counters.connectionsRejected;
    if (logsOccurrence(connectionsRejected)) {
      this.#logger?.warn("listener at maxConnections: closed a new connection", {
        address,
        maxConnections,
        connectionsRejected,
      });
    }
  }
}
