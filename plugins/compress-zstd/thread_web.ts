/**
 * A web `Worker` (Deno, Bun) behind {@linkcode startThread}.
 *
 * @module
 */
import type { ThreadEvents, WorkerThread } from "./thread_types.ts";

/** Starts `url` as a module worker. */
export function startWebThread(url: URL, events: ThreadEvents): WorkerThread {
  const worker = new Worker(url.href, { type: "module" });
  worker.onmessage = (event: MessageEvent) => events.message(event.data);
  worker.onerror = (event) => {
    event.preventDefault?.();
    events.failure(event.message);
  };
  return {
    post: (message, transfer) => worker.postMessage(message, transfer),
    terminate: () => {
      worker.terminate();
      return Promise.resolve();
    },
  };
}
