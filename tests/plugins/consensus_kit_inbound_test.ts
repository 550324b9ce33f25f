import assert from "node:assert/strict";
import { ManualClock, silentLogger, type TransportConnection } from "../../mod.ts";
import { InboundConnections } from "../../plugins/consensus-kit/inbound.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";

async function setup(receive: (frame: Uint8Array, connection: TransportConnection) => Promise<boolean>) {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 1 });
  let closed = false;
  const inbound = new InboundConnections({ engine: "test", receive, closed: () => closed, logger: silentLogger });
  const listener = await network.transport("server").listen("server");
  const accepting = inbound.accept(listener);
  const dialer = network.transport("client");
  return { clock, inbound, listener, accepting, dialer, close: () => closed = true };
}

Deno.test("inbound: frames reach receive in order; a frame it refuses closes that connection only", async () => {
  const seen: number[] = [];
  const { clock, inbound, listener, accepting, dialer } = await setup((frame) => {
    seen.push(frame[0]);
    return Promise.resolve(frame[0] !== 99);
  });
  const good = await dialer.dial("server");
  const bad = await dialer.dial("server");
  await good.send(Uint8Array.of(1));
  await good.send(Uint8Array.of(2));
  await bad.send(Uint8Array.of(99));
  for (let i = 0; i < 10; i++) await clock.advance(1);
  await bad.closed;
  assert.deepEqual(seen.sort(), [1, 2, 99]);
  assert.equal(inbound.size, 1, "the good connection stays open");
  await inbound.closeAll();
  await good.closed;
  assert.equal(inbound.size, 0);
  await listener.close();
  await accepting;
});

Deno.test("inbound: once the engine is closed, a new connection is closed at once", async () => {
  const { clock, inbound, listener, accepting, dialer, close } = await setup(() => Promise.resolve(true));
  close();
  const late = await dialer.dial("server");
  for (let i = 0; i < 10; i++) await clock.advance(1);
  await late.closed;
  assert.equal(inbound.size, 0);
  await listener.close();
  await accepting;
});
