/**
 * A transport wrapper whose connections a test can cut abruptly: after
 * `sever()`, sends on that end are silently lost, its reader ends, and the
 * connection underneath closes. What a reset socket or a dead link does.
 *
 * @module
 */
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";

/** A connection a test can cut. */
export interface SeverableConnection extends TransportConnection {
  /** Cuts it: later sends are lost, the reader ends. */
  sever(): void;
}

/**
 * Wraps `inner`; `connections` lists every connection made or accepted, for
 * `sever()`; `severAll()` cuts them all and every later one (a crashed process).
 */
export function severable(
  inner: Transport,
): Transport & { connections: SeverableConnection[]; severAll(): void } {
  const connections: SeverableConnection[] = [];
  let dead = false;
  const wrap = (connection: TransportConnection): SeverableConnection => {
    let severed = false;
    let stopReading: (() => void) | undefined;
    const cut = new Promise<void>((resolve) => stopReading = resolve);
    const wrapped: SeverableConnection = {
      get localAddress() {
        return connection.localAddress;
      },
      get remoteAddress() {
        return connection.remoteAddress;
      },
      closed: connection.closed,
      send: (frame) => severed ? Promise.resolve() : connection.send(frame),
      async *frames() {
        const iterator = connection.frames()[Symbol.asyncIterator]();
        for (;;) {
          const next = await Promise.race([iterator.next(), cut.then(() => ({ done: true, value: undefined }))]);
          if (next.done || severed) return;
          yield next.value as Uint8Array;
        }
      },
      drain: () => connection.drain(),
      close: () => connection.close(),
      stats: () => connection.stats(),
      sever() {
        severed = true;
        stopReading?.();
        connection.close().catch(() => {});
      },
    };
    connections.push(wrapped);
    if (dead) wrapped.sever();
    return wrapped;
  };
  return {
    name: `${inner.name}+severable`,
    maxFrameBytes: inner.maxFrameBytes,
    connections,
    severAll() {
      dead = true;
      for (const connection of connections) connection.sever();
    },
    dial: async (address) => wrap(await inner.dial(address)),
    async listen(address): Promise<TransportListener> {
      const listener = await inner.listen(address);
      return {
        address: listener.address,
        async *connections() {
          for await (const connection of listener.connections()) yield wrap(connection);
        },
        close: () => listener.close(),
      };
    },
  };
}
