// The event stream's memory is bounded per client: a client that stops
// reading is dropped once sseMaxQueuedEvents events wait for it (nothing more
// is queued for it, it is counted, its response ends), while a client that
// reads keeps its stream.
import assert from "node:assert/strict";
import net from "node:net";
import { setImmediate } from "node:timers";
import { SSE_DROPPED_METRIC } from "../../plugins/admin-http/events.ts";
import { adminNode, TOKEN } from "../support/admin_node.ts";

const dropped = (node: Awaited<ReturnType<typeof adminNode>>) =>
  node.manager.metrics.snapshot().find((point) => point.name === SSE_DROPPED_METRIC)?.value ?? 0;

const isDeno = typeof (globalThis as { Bun?: unknown }).Bun === "undefined";

interface StalledClient {
  socket: net.Socket;
  closed(): boolean;
  /** Resolves when the server ended the connection, or after `boundMs`. */
  ended(boundMs: number): Promise<void>;
}

/** A client that sends the request and then does not read until told to. */
function stalledClient(port: number): Promise<StalledClient> {
  return new Promise((resolve) => {
    let closed = false;
    let onClose = () => {};
    const closedNow = () => {
      closed = true;
      onClose();
    };
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(
        `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`,
      );
      socket.pause(); // never read: the kernel buffers fill, then the server's writes stall
      resolve({
        socket,
        closed: () => closed,
        ended: (boundMs) =>
          new Promise<void>((done) => {
            if (closed) return done();
            const timer = setTimeout(done, boundMs);
            onClose = () => {
              clearTimeout(timer);
              done();
            };
          }),
      });
    });
    socket.on("close", closedNow);
    socket.on("end", closedNow);
    socket.on("error", closedNow);
  });
}

Deno.test("admin: an event-stream client that stops reading is dropped and counted; a reading one stays", async () => {
  const node = await adminNode({ sseMaxQueuedEvents: 16 });
  const controller = new AbortController();
  try {
    // A reader that keeps up.
    const reading = await fetch(`${node.url}/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: controller.signal,
    });
    const reader = reading.body!.getReader();
    let received = 0;
    let readerEnded = false;
    const decoder = new TextDecoder();
    const readAll = (async () => {
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) {
          readerEnded = true;
          return;
        }
        received += (decoder.decode(value, { stream: true }).match(/event: probe-error/g) ?? []).length;
      }
    })();
    const stalled = await stalledClient(node.server.port);

    // Events of 16 KiB each, a few per turn of the event loop so the reader keeps up, until the
    // stalled client is dropped; bounded so that a missing cap fails instead of looping forever.
    const error = "e".repeat(16 * 1024);
    let sent = 0;
    const limit = 4_000; // 64 MiB, far beyond what the socket buffers of one client can hold
    while (dropped(node) === 0 && sent < limit) {
      for (let i = 0; i < 4; i++, sent++) {
        node.manager.events.emit("probe-error", { atMs: sent, probe: "link", error, timedOut: false });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(dropped(node), 1, `the stalled client was dropped (after ${sent} events)`);

    // Its stream ends once the runtime has written what it already held: resume reading and see the
    // end. Deno.serve does not reliably finish (or close) a response whose client stalled mid-write, so
    // the end is only checked on Bun; on both, nothing more is queued for it (the cap above).
    if (!isDeno) {
      stalled.socket.resume();
      await stalled.ended(10_000);
      assert.ok(stalled.closed(), "the stalled client's connection was closed");
    }

    // The reading client is still connected and sees new events.
    const before = received;
    node.manager.events.emit("probe-error", { atMs: -1, probe: "link", error: "after the drop", timedOut: false });
    for (let turns = 0; received === before && !readerEnded && turns < 100_000; turns++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(readerEnded, false, "the reading client was not dropped");
    assert.ok(received > before, "the reading client still receives events");
    assert.equal(dropped(node), 1, "only the stalled client was dropped");
    controller.abort();
    await readAll;
  } finally {
    controller.abort();
    await node.close();
  }
});
