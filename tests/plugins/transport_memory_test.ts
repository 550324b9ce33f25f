import assert from "node:assert/strict";
import { ManualClock, SystemClock } from "../../mod.ts";
import { runCompliance } from "../../testing/mod.ts";
import { pluginCompliance } from "../../testing/plugin.ts";
import { transportCompliance } from "../../testing/transport.ts";
import transportMemory, { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { MemoryEndpoint } from "../../plugins/transport-memory/connection.ts";
import type { TransportConnection } from "../../core/contracts/transport.ts";
import { connectedPair } from "../support/connected_pair.ts";

runCompliance("transport-memory (plugin)", pluginCompliance(transportMemory, { address: "node-a" }));

let listeners = 0;
function memoryPair(network: MemoryNetwork, maxFrameBytes: number) {
  const address = `server-${++listeners}`;
  const limits = { maxFrameBytes, highWaterBytes: 4 * 1024 * 1024 };
  return connectedPair(network.transport(address, limits), address, network.transport("client", limits));
}

for (
  const [label, link] of [["perfect link", {}], ["1 ms delay, 1 Gbps, 1 % loss", {
    delayMs: 1,
    bandwidthMbps: 1_000,
    lossRatio: 0.01,
  }]] as const
) {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 5, defaultLink: link });
  runCompliance(
    `transport-memory (${label})`,
    transportCompliance({
      maxFrameBytes: 2 * 1024 * 1024,
      pair: () => memoryPair(network, 2 * 1024 * 1024),
      writeRaw: (connection, bytes) => (connection as MemoryEndpoint).writeRaw(bytes),
      dialNowhere: () => network.transport("client").dial("nobody-listens-here"),
    }),
  );
}

Deno.test("memory link model: delay, bandwidth and order, deterministic under ManualClock", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 9 });
  network.setLink("a", "b", { delayMs: 20, bandwidthMbps: 8 }); // 1 byte per microsecond
  const listener = await network.transport("b").listen("b");
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await network.transport("a").dial("b");
  const server = (await accepted).value as TransportConnection;
  const arrivals: number[] = [];
  const reading = (async () => {
    for await (const frame of server.frames()) {
      arrivals.push(clock.now());
      if (frame.length === 996) break;
    }
  })();
  await client.send(new Uint8Array(996)); // 1000 bytes on the wire: 1 ms to serialize
  await client.send(new Uint8Array(996));
  await clock.advance(20);
  assert.deepEqual(arrivals, [], "nothing before the one-way delay");
  await clock.advance(1);
  assert.deepEqual(arrivals, [21]);
  await reading;
  const second: number[] = [];
  const next = server.frames()[Symbol.asyncIterator]().next().then(() => second.push(clock.now()));
  await clock.advance(1);
  await next;
  assert.deepEqual(second, [22], "the second frame waits for the first to serialize");
  await listener.close();
});

Deno.test("memory link model: loss delays a frame and everything behind it, order kept", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 3, defaultLink: { delayMs: 5, lossRatio: 0.3 } });
  const listener = await network.transport("y").listen("y");
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await network.transport("x").dial("y");
  const server = (await accepted).value as TransportConnection;
  for (let i = 0; i < 50; i++) await client.send(new Uint8Array([i]));
  const got: number[] = [];
  const reading = (async () => {
    for await (const frame of server.frames()) {
      got.push(frame[0]);
      if (got.length === 50) break;
    }
  })();
  await clock.advance(5);
  const onTime = got.length;
  await clock.advance(100);
  await reading;
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i), "every frame, in order");
  assert.ok(onTime < 50, `lost frames arrive late and hold the rest back (on time: ${onTime})`);
  await listener.close();
});
