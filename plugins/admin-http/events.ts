/**
 * `GET /events`: the manager's events as server-sent events. Each event's
 * name is the manager event's name; its data is the payload as JSON.
 *
 * Memory per client is bounded: events wait in a queue of at most
 * `maxQueuedEvents` while the client's socket is full; a client that lets
 * more pile up (it stopped reading) is dropped, its connection closed, logged
 * and counted in `switchyard_admin_sse_dropped_clients_total`.
 *
 * @module
 */
import type { TimerId } from "../../core/util/clock.ts";
import type { Unsubscribe } from "../../core/util/events.ts";
import type { ExtensionHost } from "../../core/control/extension_host.ts";
import type { ManagerEvents } from "../../core/control/manager_events.ts";

/** The manager events forwarded to clients. */
export const FORWARDED: readonly (keyof ManagerEvents)[] = [
  "sample",
  "switch",
  "switch-failed",
  "switch-refused",
  "flapping",
  "probe-error",
  "drain-timeout",
  "cooldown",
  "agreement",
  "link-mode",
];

/** The counter of clients dropped for not reading. */
export const SSE_DROPPED_METRIC = "switchyard_admin_sse_dropped_clients_total";

/** How a stream behaves. */
export interface EventStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
  /** Events (heartbeats included) that may wait for one client before it is dropped. */
  maxQueuedEvents: number;
}

const HEADERS = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
  // The socket is not reused once a stream ends (Bun closes it; Deno.serve ignores the header).
  connection: "close",
};

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** Streams events until the client goes away, or is dropped for not reading. */
export function eventStream(manager: ExtensionHost, options: EventStreamOptions): Response {
  const encoder = new TextEncoder();
  const queue: string[] = [];
  let offs: Unsubscribe[] = [];
  let timer: TimerId | undefined;
  let closed = false;
  /** Set when the client is dropped: the stream errors at its next pull, once the runtime's write is done. */
  let dropped = false;
  /** Hands the queue to the stream when it has room; set once the stream starts. */
  let flush = () => {};

  const stop = () => {
    closed = true;
    for (const off of offs) off();
    offs = [];
    if (timer !== undefined) manager.clock.clearTimeout(timer);
    queue.length = 0;
  };

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      flush = () => {
        if (queue.length === 0 || (controller.desiredSize ?? 0) <= 0) return;
        controller.enqueue(encoder.encode(queue.join("")));
        queue.length = 0;
      };
      const push = (text: string) => {
        if (closed) return;
        queue.push(text);
        flush();
        if (queue.length <= options.maxQueuedEvents) return;
        manager.metrics.increment(SSE_DROPPED_METRIC, "Event-stream clients dropped because they stopped reading.");
        manager.logger.warn("admin-http: dropping an event-stream client that stopped reading", {
          queuedEvents: queue.length,
          maxQueuedEvents: options.maxQueuedEvents,
        });
        stop();
        dropped = true;
        // The response ends when the runtime next asks for data (it is still writing the last chunk
        // now): closing then is clean on both runtimes, where erroring mid-write can leave Deno's
        // connection open.
        if ((controller.desiredSize ?? 0) > 0) controller.close();
      };
      const heartbeat = () => {
        timer = manager.clock.setTimeout(() => {
          if (closed) return;
          push(": heartbeat\n\n");
          heartbeat();
        }, options.heartbeatMs);
      };
      queue.push(frame("hello", { nodeId: manager.nodeId, mode: manager.currentMode }));
      offs = FORWARDED.map((event) => manager.on(event, (payload) => push(frame(event, payload))));
      heartbeat();
      flush();
    },
    pull(controller) {
      if (dropped) controller.close();
      else flush();
    },
    cancel() {
      stop();
    },
  });
  return new Response(stream, { headers: HEADERS });
}
