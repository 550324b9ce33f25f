import assert from "node:assert/strict";
import { ManualClock, SystemClock } from "../../mod.ts";
import { runCompliance } from "../../testing/mod.ts";
import { transportCompliance } from "../../testing/transport.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { MemoryEndpoint } from "../../plugins/transport-memory/connection.ts";
import { TransportChannels } from "../../plugins/transport-kit/channels.ts";
import type { TransportConnection } from "../../core/contracts/transport.ts";
import { connectedPair } from "../support/connected_pair.ts";

const network = new MemoryNetwork({ clock: new SystemClock(), seed: 9 });
let servers = 0;
const rawOf = new WeakMap<TransportConnection, TransportConnection>();
const LIMITS = { maxFrameBytes: 1024 * 1024, highWaterBytes: 4 * 1024 * 1024 };

// A channel is a transport: it passes the transport suite with another channel listening beside it.
runCompliance(
  "transport-kit channels (channel 7 of a memory transport)",
  transportCompliance({
    maxFrameBytes: 1024 * 1024,
    pair: async () => {
      const address = `channels-${++servers}`;
      const serverChannels = new TransportChannels(network.transport(address, LIMITS), { clock: new SystemClock() });
      const neighbour = await serverChannels.channel(8).listen(address);
      // The client's raw connection underneath its channel, for writeRaw.
      const base = network.transport("client", LIMITS);
      let dialled: TransportConnection | undefined;
      const recording = { ...base, dial: async (to: string) => dialled = await base.dial(to) };
      const clientChannels = new TransportChannels(recording, { clock: new SystemClock() });
      const pair = await connectedPair(serverChannels.channel(7), address, clientChannels.channel(7));
      rawOf.set(pair.client, dialled!);
      return { ...pair, release: async () => (await pair.release(), await neighbour.close()) };
    },
    writeRaw: (connection, bytes) => (rawOf.get(connection) as MemoryEndpoint).writeRaw(bytes),
    dialNowhere: () =>
      new TransportChannels(network.transport("client"), { clock: new SystemClock() }).channel(1).dial("nobody"),
  }),
);

async function first(listener: { connections(): AsyncIterable<TransportConnection> }) {
  return (await listener.connections()[Symbol.asyncIterator]().next()).value as TransportConnection;
}

async function firstFrame(connection: TransportConnection): Promise<string> {
  const next = await connection.frames()[Symbol.asyncIterator]().next();
  return next.done ? "(closed)" : new TextDecoder().decode(next.value);
}

Deno.test("channels: two channels share one address and their frames never mix", async () => {
  const address = "shared-address";
  const server = new TransportChannels(network.transport(address), { clock: new SystemClock() });
  const client = new TransportChannels(network.transport("client"), { clock: new SystemClock() });
  const [one, two] = [await server.channel(1).listen(address), await server.channel(2).listen(address)];
  await assert.rejects(server.channel(1).listen(address), /channel 1 already listens/);
  const toTwo = await client.channel(2).dial(address);
  const toOne = await client.channel(1).dial(address);
  await toTwo.send(new TextEncoder().encode("for two"));
  await toOne.send(new TextEncoder().encode("for one"));
  assert.equal(await firstFrame(await first(one)), "for one");
  assert.equal(await firstFrame(await first(two)), "for two");
  assert.deepEqual(server.stats(), { routed: 2, refused: 0 });
  // Closing one channel leaves the other listening on the shared address.
  await one.close();
  const again = await client.channel(2).dial(address);
  await again.send(new TextEncoder().encode("still two"));
  assert.equal(await firstFrame(await first(two)), "still two");
  for (const connection of [toOne, toTwo, again]) await connection.close();
  await two.close();
  assert.throws(() => server.channel(-1), /channel must be an integer/);
});

Deno.test("channels: without a hello, silent, or for a channel that never listens, a connection is closed and counted", async () => {
  const clock = new ManualClock();
  const address = "refusing-address";
  const server = new TransportChannels(network.transport(address), { clock, helloTimeoutMs: 1_000, pendingMs: 500 });
  const listener = await server.channel(1).listen(address);
  const raw = network.transport("raw");
  const wrongChannel = await new TransportChannels(raw, { clock }).channel(5).dial(address);
  const noHello = await raw.dial(address);
  await noHello.send(new TextEncoder().encode("no hello here"));
  const silent = await raw.dial(address);
  await noHello.closed;
  assert.deepEqual(server.stats(), { routed: 0, refused: 1 });
  await clock.advance(500);
  await wrongChannel.closed;
  assert.deepEqual(server.stats(), { routed: 0, refused: 2 }, "channel 5 never listened within pendingMs");
  await clock.advance(500);
  await silent.closed;
  assert.deepEqual(server.stats(), { routed: 0, refused: 3 });
  await listener.close();
});

Deno.test("channels: a connection that arrives before its channel listens waits for it, frames and all", async () => {
  const clock = new ManualClock();
  const address = "early-address";
  const server = new TransportChannels(network.transport(address), { clock, pendingMs: 1_000 });
  const control = await server.channel(0).listen(address);
  const early = await new TransportChannels(network.transport("early"), { clock }).channel(9).dial(address);
  await early.send(new TextEncoder().encode("sent before channel 9 listened"));
  await clock.advance(400);
  const late = await server.channel(9).listen(address);
  assert.equal(await firstFrame(await first(late)), "sent before channel 9 listened");
  assert.deepEqual(server.stats(), { routed: 1, refused: 0 });
  await early.close();
  await late.close();
  await control.close();
});

Deno.test("channels: at most maxPending connections wait for their channels; a newer one pushes out the oldest", async () => {
  const clock = new ManualClock();
  const address = "crowded-address";
  const server = new TransportChannels(network.transport(address), { clock, maxPending: 2 });
  const control = await server.channel(0).listen(address);
  const dialer = new TransportChannels(network.transport("crowd"), { clock });
  // A flood for channels nobody will open…
  const flood = [await dialer.channel(7).dial(address), await dialer.channel(8).dial(address)];
  await flood[0].send(new TextEncoder().encode("x"));
  // …does not keep out a peer's connection for the channel that opens next.
  const peer = await dialer.channel(9).dial(address);
  await peer.send(new TextEncoder().encode("the peer's frame"));
  await flood[0].closed; // the oldest made room
  assert.deepEqual(server.stats(), { routed: 0, refused: 1 });
  const nine = await server.channel(9).listen(address);
  assert.equal(await firstFrame(await first(nine)), "the peer's frame");
  await nine.close();
  await control.close(); // the last channel: the waiting ones are closed with the listener
  await flood[1].closed;
});

Deno.test("channels: a connection for a channel that closed here, or that admitPending does not expect, is closed at once", async () => {
  const clock = new ManualClock();
  const address = "retired-address";
  const server = new TransportChannels(network.transport(address), {
    clock,
    admitPending: (channel) => channel < 100,
  });
  const control = await server.channel(0).listen(address);
  const old = await server.channel(5).listen(address);
  await old.close();
  const dialer = new TransportChannels(network.transport("late-peer"), { clock });
  const toRetired = await dialer.channel(5).dial(address);
  await toRetired.closed; // without waiting pendingMs (the manual clock never moved)
  const unexpected = await dialer.channel(4242).dial(address);
  await unexpected.closed;
  assert.deepEqual(server.stats(), { routed: 0, refused: 2 });
  // A channel that listens again takes connections again.
  const again = await server.channel(5).listen(address);
  const fresh = await dialer.channel(5).dial(address);
  await fresh.send(new TextEncoder().encode("back"));
  assert.equal(await firstFrame(await first(again)), "back");
  await again.close();
  await control.close();
});

Deno.test("channels: close() ends the listeners and closes connections still waiting for a hello or a channel", async () => {
  const clock = new ManualClock();
  const address = "closing-address";
  const server = new TransportChannels(network.transport(address), { clock });
  const listener = await server.channel(1).listen(address);
  const waitingForChannel = await new TransportChannels(network.transport("w1"), { clock }).channel(9).dial(address);
  const silent = await network.transport("w2").dial(address);
  await server.close();
  await waitingForChannel.closed;
  assert.equal(
    (await listener.connections()[Symbol.asyncIterator]().next()).done,
    true,
    "the channel's listener ended",
  );
  await silent.close();
  await silent.closed;
});
