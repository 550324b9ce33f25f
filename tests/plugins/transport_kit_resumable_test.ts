import assert from "node:assert/strict";
import { SystemClock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import { type ResumableConnection, resumableTransport } from "../../plugins/transport-kit/resumable.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { MemoryEndpoint } from "../../plugins/transport-memory/connection.ts";
import { runCompliance } from "../../testing/case.ts";
import { transportCompliance } from "../../testing/transport.ts";
import { connectedPair } from "../support/connected_pair.ts";
import { severable } from "../support/severable_transport.ts";

const clock = new SystemClock();

{
  const network = new MemoryNetwork({ clock, seed: 3 });
  const transport = resumableTransport(network.transport("resume-client"), { clock });
  let port = 0;
  runCompliance(
    "resumable over transport-memory",
    transportCompliance({
      maxFrameBytes: transport.maxFrameBytes,
      pair: () => connectedPair(transport, `resume-${++port}`),
      writeRaw: (connection, bytes) =>
        ((connection as ResumableConnection).underlying as MemoryEndpoint).writeRaw(bytes),
      dialNowhere: () => transport.dial("nobody-listens-here"),
    }),
  );
}

function frame(sequence: number): Uint8Array {
  const bytes = new Uint8Array(64 + (sequence % 200));
  new DataView(bytes.buffer).setUint32(0, sequence, true);
  bytes.fill(sequence & 0xff, 4);
  return bytes;
}

Deno.test("resumable: frames arrive exactly once and in order while the link underneath is cut again and again", async () => {
  const network = new MemoryNetwork({ clock, seed: 4 });
  const cuttable = severable(network.transport("a"));
  const transport = resumableTransport(cuttable, { clock, initialBackoffMs: 1, ackDelayMs: 1 });
  const { client, server, release } = await connectedPair(transport, "cut-server");
  try {
    const count = 20_000;
    let cuts = 0;
    const receiving = (async () => {
      let next = 0;
      for await (const received of server.frames()) {
        const sequence = new DataView(received.buffer, received.byteOffset).getUint32(0, true);
        assert.equal(sequence, next, "in order, exactly once");
        assert.equal(received.length, 64 + (sequence % 200));
        next++;
        if (next % 2500 === 0) {
          cuts++;
          cuttable.connections.at(-1)!.sever(); // the newest underlying connection, from either side
        }
        if (next === count) return next;
      }
      return next;
    })();
    for (let i = 0; i < count; i++) await client.send(frame(i));
    assert.equal(await receiving, count);
    await client.drain();
    const resumable = client as ResumableConnection;
    assert.ok(cuts >= 7, `${cuts} cuts`);
    const serving = server as ResumableConnection;
    assert.ok(resumable.resumes + serving.resumes >= cuts, `resumed ${resumable.resumes} + ${serving.resumes} times`);
    assert.ok(resumable.retransmitted > 0, "frames lost in the cuts were sent again");
    assert.ok(cuttable.connections.length > 2, "new underlying connections were dialled");
  } finally {
    await release();
  }
});

Deno.test("resumable: both directions survive a cut, and a graceful close still ends the peer's reader", async () => {
  const network = new MemoryNetwork({ clock, seed: 5 });
  const cuttable = severable(network.transport("a"));
  const transport = resumableTransport(cuttable, { clock, initialBackoffMs: 1 });
  const { client, server, release } = await connectedPair(transport, "both-ways");
  try {
    const echo = (async () => {
      for await (const received of server.frames()) await server.send(received);
    })();
    const replies = client.frames()[Symbol.asyncIterator]();
    for (let i = 0; i < 300; i++) {
      if (i === 100 || i === 200) cuttable.connections.at(-1)!.sever();
      await client.send(frame(i));
      const reply = await replies.next();
      assert.equal(new DataView(reply.value!.buffer, reply.value!.byteOffset).getUint32(0, true), i);
    }
    await client.close();
    await echo; // the server's reader ended at the close
    await server.closed;
  } finally {
    await release();
  }
});

Deno.test("resumable: a peer that never comes back fails the connection with TRANSPORT_CLOSED", async () => {
  const network = new MemoryNetwork({ clock, seed: 6 });
  const cuttable = severable(network.transport("a"));
  const transport = resumableTransport(cuttable, { clock, initialBackoffMs: 1, maxBackoffMs: 2, maxAttempts: 3 });
  const listener = await transport.listen("gone");
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await transport.dial("gone");
  await accepted;
  await listener.close(); // nobody to resume with
  cuttable.connections[0].sever();
  await assert.rejects(
    (async () => {
      for await (const _ of client.frames()) { /* nothing arrives */ }
    })(),
    (error) =>
      error instanceof SwitchyardError && error.code === "TRANSPORT_CLOSED" && /after 3 attempts/.test(error.message),
  );
  await assert.rejects(
    client.send(new Uint8Array(1)),
    (error) => error instanceof SwitchyardError && error.code === "TRANSPORT_CLOSED",
  );
});
