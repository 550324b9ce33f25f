/**
 * A `node:worker_threads` worker (Node) behind {@linkcode startThread}.
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { ThreadEvents, WorkerThread } from "./thread_types.ts";

/** Starts `url` on a worker thread; a worker that exits without being terminated is reported as failed. */
export function startNodeThread(url: URL, events: ThreadEvents): WorkerThread {
  const worker = new Worker(url);
  let terminating = false;
  worker.on("message", (data) => events.message(data));
  worker.on("error", (error) => events.failure(error.message));
  worker.on("exit", (code) => {
    if (!terminating) events.failure(`worker exited with code ${code}`);
  });
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    terminate: async () => {
      terminating = true;
      await worker.terminate();
    },
  };
}
