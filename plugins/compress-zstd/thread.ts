/**
 * One worker thread behind a small contract, so that the zstd pool runs on
 * every runtime: a web `Worker` where the runtime has one (Deno, Bun;
 * `thread_web.ts`), `node:worker_threads` where it has not (Node, which has
 * no global `Worker`; `thread_node.ts`).
 *
 * @module
 */
import { startNodeThread } from "./thread_node.ts";
import { startWebThread } from "./thread_web.ts";
import type { ThreadEvents, WorkerThread } from "./thread_types.ts";

export type { ThreadEvents, WorkerThread } from "./thread_types.ts";

/** Starts the ES module at `url` on a new thread. */
export function startThread(url: URL, events: ThreadEvents): WorkerThread {
  return typeof (globalThis as { Worker?: unknown }).Worker === "function"
    ? startWebThread(url, events)
    : startNodeThread(url, events);
}
