/**
 * The side of the probe protocol every node runs: answers pings, counts bulk
 * bytes and acknowledges each transfer.
 *
 * @module
 */
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { bulkMessage, messageId, MessageType, pingMessage } from "./protocol.ts";

async function answer(connection: TransportConnection): Promise<void> {
  let bulkBytes = 0;
  try {
    for await (const message of connection.frames()) {
      switch (message[0]) {
        case MessageType.Ping:
          await connection.send(pingMessage(MessageType.Pong, messageId(message)));
          break;
        case MessageType.Bulk:
          bulkBytes += message.length;
          break;
        case MessageType.BulkEnd:
          await connection.send(bulkMessage(MessageType.BulkAck, messageId(message), bulkBytes));
          bulkBytes = 0;
          break;
      }
    }
  } catch {
    // A broken peer ends its own connection; the responder carries on.
  } finally {
    await connection.close().catch(() => {});
  }
}

/**
 * Answers probes at `address` until the returned listener is closed.
 *
 * @example
 * ```ts ignore
 * const listener = await serveProbes(transport, "0.0.0.0:7071");
 * ```
 */
export async function serveProbes(transport: Transport, address: string): Promise<TransportListener> {
  const listener = await transport.listen(address);
  (async () => {
    for await (const connection of listener.connections()) answer(connection);
  })();
  return listener;
}
