/**
 * A connected pair for transport tests: listen, dial, take the accepted end,
 * and a `release` that closes all three.
 *
 * @module
 */
import type { Transport, TransportConnection } from "../../core/transport.ts";

/** Listens on `server` at `address`, dials it from `dialer` (the same transport by default). */
export async function connectedPair(
  server: Transport,
  address: string,
  dialer: Transport = server,
): Promise<{ client: TransportConnection; server: TransportConnection; release(): Promise<void> }> {
  const listener = await server.listen(address);
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await dialer.dial(listener.address);
  const serverEnd = (await accepted).value as TransportConnection;
  return {
    client,
    server: serverEnd,
    release: async () => {
      await listener.close();
      await client.close().catch(() => {});
      await serverEnd.close().catch(() => {});
    },
  };
}
