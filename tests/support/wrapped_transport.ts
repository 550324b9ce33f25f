/**
 * Transports and connections that behave as the ones they wrap except where
 * a test overrides them: to tap what is sent, delay it, or cut it.
 *
 * @module
 */
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";

/** What a wrapper may replace on a connection. */
export type ConnectionOverrides = Partial<Pick<TransportConnection, "send" | "frames" | "drain" | "close">>;

/** `inner`, with `overrides` in place of its methods. */
export function wrapConnection(inner: TransportConnection, overrides: ConnectionOverrides): TransportConnection {
  return {
    get localAddress() {
      return inner.localAddress;
    },
    get remoteAddress() {
      return inner.remoteAddress;
    },
    closed: inner.closed,
    send: overrides.send ?? ((frame) => inner.send(frame)),
    frames: overrides.frames ?? (() => inner.frames()),
    drain: overrides.drain ?? (() => inner.drain()),
    close: overrides.close ?? (() => inner.close()),
    stats: () => inner.stats(),
  };
}

/**
 * `inner`, with every connection it dials passed through `dialed` and every
 * connection it accepts through `accepted` (each defaults to as is).
 *
 * @example
 * ```ts ignore
 * const delayed = wrapTransport(transport, {
 *   accepted: (connection) => wrapConnection(connection, { send: (frame) => later(() => connection.send(frame)) }),
 * });
 * ```
 */
export function wrapTransport(
  inner: Transport,
  wrap: {
    dialed?: (connection: TransportConnection) => TransportConnection;
    accepted?: (connection: TransportConnection) => TransportConnection;
  },
): Transport {
  const { dialed = (connection) => connection, accepted = (connection) => connection } = wrap;
  return {
    name: inner.name,
    maxFrameBytes: inner.maxFrameBytes,
    dial: async (address) => dialed(await inner.dial(address)),
    async listen(address): Promise<TransportListener> {
      const listener = await inner.listen(address);
      return {
        address: listener.address,
        async *connections() {
          for await (const connection of listener.connections()) yield accepted(connection);
        },
        close: () => listener.close(),
      };
    },
  };
}
