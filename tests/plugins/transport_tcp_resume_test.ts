import assert from "node:assert/strict";
import { SystemClock } from "../../core/util/clock.ts";
import type { ResumableConnection } from "../../plugins/transport-kit/resumable.ts";
import type { TransportConnection } from "../../core/contracts/transport.ts";
import tcpPlugin, { parseAddress } from "../../plugins/transport-tcp/mod.ts";
import { startLinkProxy } from "../../tools/link_proxy.ts";
import { runCompliance } from "../../testing/case.ts";
import { instantiate } from "../../testing/plugin.ts";
import { loopbackCompliance } from "../support/connected_pair.ts";

const clock = new SystemClock();
const resumeOptions = { resume: { initialBackoffMs: 10, maxBackoffMs: 100, maxAttempts: 20 } };
const transport = await instantiate(tcpPlugin, resumeOptions, { clock });

runCompliance("transport-tcp with resume (loopback)", loopbackCompliance(transport, transport.maxFrameBytes));

/** Starts the proxy again on its old port, which the runtime may release a moment after the close. */
async function restartProxy(port: number, targetPort: number) {
  for (let attempt = 0;; attempt++) {
    try {
      return await startLinkProxy({ port, target: { host: "127.0.0.1", port: targetPort }, link: {} });
    } catch (error) {
      if (attempt === 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

Deno.test({
  name: "transport-tcp with resume: a proxy killed mid-stream and started again loses nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const listener = await transport.listen("127.0.0.1:0");
    const target = parseAddress(listener.address);
    const accepted = listener.connections()[Symbol.asyncIterator]().next();
    let proxy = await startLinkProxy({ port: 0, target: { host: "127.0.0.1", port: target.port }, link: {} });
    const proxyPort = proxy.port;
    const client = await transport.dial(`127.0.0.1:${proxyPort}`);
    const server = (await accepted).value as TransportConnection;
    const count = 20_000;
    try {
      const receiving = (async () => {
        let next = 0;
        for await (const frame of server.frames()) {
          assert.equal(new DataView(frame.buffer, frame.byteOffset).getUint32(0, true), next, "in order, exactly once");
          next++;
          if (next === count / 2) {
            await proxy.close(); // every socket through it destroyed, bytes in flight lost
            proxy = await restartProxy(proxyPort, target.port);
          }
          if (next === count) return next;
        }
        return next;
      })();
      for (let i = 0; i < count; i++) {
        const frame = new Uint8Array(512);
        new DataView(frame.buffer).setUint32(0, i, true);
        await client.send(frame);
      }
      assert.equal(await receiving, count);
      await client.drain();
      assert.ok((client as ResumableConnection).resumes >= 1, "the dialer resumed through the new proxy");
    } finally {
      await client.close().catch(() => {});
      await server.close().catch(() => {});
      await listener.close();
      await proxy.close();
    }
  },
});
