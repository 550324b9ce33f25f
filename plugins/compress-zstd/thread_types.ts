/**
 * The contract of one worker thread, shared by `thread.ts` and the
 * per-runtime threads it picks.
 *
 * @module
 */

/** What a thread reports to its owner. */
export interface ThreadEvents {
  /** A message the worker posted. */
  message(data: unknown): void;
  /** The worker failed (an uncaught error, or it exited by itself); it takes no more work. */
  failure(reason: string): void;
}

/** A running worker thread. */
export interface WorkerThread {
  /** Posts `message`, moving the buffers in `transfer`. */
  post(message: unknown, transfer: ArrayBuffer[]): void;
  /** Ends the thread; resolves once it is gone. No `failure` is reported for it. */
  terminate(): Promise<void>;
}
