/**
 * `GET /events`: the manager's events as server-sent events. Each event's
 * name is the manager event's name; its data is the payload as JSON.
 *
 * @module
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Unsubscribe } from "../../core/events.ts";
import type { HybridManager } from "../../core/manager.ts";
import type { ManagerEvents } from "../../core/manager_events.ts";

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
];

/** Streams events until the client goes away; a comment line every `heartbeatMs` keeps proxies from closing it. */
export function eventStream(c: Context, manager: HybridManager, heartbeatMs: number): Response {
  return streamSSE(c, async (stream) => {
    const queue: { event: string; data: string }[] = [];
    let wake: (() => void) | undefined;
    const offs: Unsubscribe[] = FORWARDED.map((event) =>
      manager.on(event, (payload) => {
        queue.push({ event, data: JSON.stringify(payload) });
        wake?.();
      })
    );
    let open = true;
    stream.onAbort(() => {
      open = false;
      wake?.();
    });
    try {
      await stream.writeSSE({
        event: "hello",
        data: JSON.stringify({ nodeId: manager.nodeId, mode: manager.currentMode }),
      });
      while (open) {
        while (queue.length > 0 && open) await stream.writeSSE(queue.shift()!);
        if (!open) break;
        await new Promise<void>((resolve) => {
          const timer = manager.clock.setTimeout(resolve, heartbeatMs);
          wake = () => {
            manager.clock.clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (queue.length === 0 && open) await stream.write(": heartbeat\n\n");
      }
    } finally {
      for (const off of offs) off();
    }
  });
}
