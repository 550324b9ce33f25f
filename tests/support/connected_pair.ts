/**
 * A connected pair for transport tests: listen, dial, take the accepted end,
 * and a `release` that closes all three.
 *
 * @module
 */
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";
import type { ComplianceCase } from "../../testing/case.ts";
import { transportCompliance } from "../../testing/transport.ts";

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

/**
 * The transport suite for a socket transport on loopback. The raw-bytes case is
 * left out: forging bytes needs the socket under the connection, which the TCP
 * test does separately from a second socket.
 */
export function loopbackCompliance(transport: Transport, maxFrameBytes: number): ComplianceCase[] {
  return transportCompliance({
    maxFrameBytes,
    pair: () => connectedPair(transport, "127.0.0.1:0"),
    writeRaw: () => {
      throw new Error("covered by the raw-socket test in transport_tcp_test.ts");
    },
    dialNowhere: async () => {
      const listener = await transport.listen("127.0.0.1:0");
      const address = listener.address;
      await listener.close();
      return await transport.dial(address);
    },
  }).filter((check) => !check.name.startsWith("a malformed frame"));
}
