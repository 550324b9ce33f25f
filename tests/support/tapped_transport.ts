/**
 * A transport wrapper that shows a test every frame its dialed connections
 * send, as it goes on the wire (after whatever the sender did to it).
 *
 * @module
 */
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";

/** Wraps `inner`: `onSend` sees each frame a dialed connection sends, before it is handed on. */
export function tappedTransport(inner: Transport, onSend: (frame: Uint8Array) => void): Transport {
  const wrap = (connection: TransportConnection): TransportConnection => ({
    get localAddress() {
      return connection.localAddress;
    },
    get remoteAddress() {
      return connection.remoteAddress;
    },
    closed: connection.closed,
    send(frame) {
      onSend(frame);
      return connection.send(frame);
    },
    frames: () => connection.frames(),
    drain: () => connection.drain(),
    close: () => connection.close(),
    stats: () => connection.stats(),
  });
  return {
    name: inner.name,
    maxFrameBytes: inner.maxFrameBytes,
    listen: (address) => inner.listen(address),
    dial: async (address) => wrap(await inner.dial(address)),
  };
}
