import assert from "node:assert/strict";
import { SystemClock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";
import {
  dialSteered,
  listenSteered,
  type SteeredConnection,
  steeredTransport,
} from "../../plugins/transport-kit/steered.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { MemoryEndpoint } from "../../plugins/transport-memory/connection.ts";
import { runCompliance } from "../../testing/case.ts";
import { transportCompliance } from "../../testing/transport.ts";
import { connectedPair } from "../support/connected_pair.ts";
import { severable } from "../support/severable_transport.ts";
import { lengthPrefixed } from "../../plugins/transport-kit/length_prefix.ts";
import { decodeWire, encodeWire, WIRE } from "../../plugins/transport-kit/steered_wire.ts";

const clock = new SystemClock();
const FAST = { ackDelayMs: 1 };

{
  const network = new MemoryNetwork({ clock, seed: 11 });
  const transport = steeredTransport(network.transport("steered-client"), { clock, ...FAST });
  let port = 0;
  runCompliance(
    "steered over transport-memory",
    transportCompliance({
      maxFrameBytes: transport.maxFrameBytes,
      pair: () => connectedPair(transport, `steered-${++port}`),
      writeRaw: (connection, bytes) => ((connection as SteeredConnection).underlying as MemoryEndpoint).writeRaw(bytes),
      dialNowhere: () => transport.dial("nobody-listens-here"),
    }),
  );
}

function frame(sequence: number): Uint8Array {
  const bytes = new Uint8Array(32 + (sequence % 100));
  new DataView(bytes.buffer).setUint32(0, sequence, true);
  bytes.fill(sequence & 0xff, 4);
  return bytes;
}

/** Reads `count` frames, checking each arrives exactly once and in order. */
async function receiveInOrder(connection: TransportConnection, count: number): Promise<number> {
  let next = 0;
  for await (const received of connection.frames()) {
    const sequence = new DataView(received.buffer, received.byteOffset).getUint32(0, true);
    assert.equal(sequence, next, `frame ${next} expected, ${sequence} arrived: lost, duplicated or reordered`);
    assert.equal(received.length, 32 + (sequence % 100));
    assert.equal(received[4], sequence & 0xff);
    if (++next === count) break;
  }
  return next;
}

/**
 * Two transports a path may take to the server (the old: `old`, the new:
 * `next`), one steered listener over both, and a connected steered pair.
 */
async function steeredPair(old: Transport, next: Transport, name: string) {
  const listeners = [await old.listen(`${name}-old`), await next.listen(`${name}-new`)];
  const listener = listenSteered(listeners, Math.min(old.maxFrameBytes, next.maxFrameBytes), { clock, ...FAST });
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await dialSteered(old, listeners[0].address, { clock, ...FAST });
  const server = (await accepted).value as SteeredConnection;
  return {
    client,
    server,
    newAddress: listeners[1].address,
    release: async () => {
      await listener.close();
      await client.close().catch(() => {});
      await server.close().catch(() => {});
    },
  };
}

/** Sends `count` frames, one every `everyMs` tick of the event loop, both ways. */
async function stream(connection: TransportConnection, count: number, pauseEvery = 50): Promise<void> {
  for (let i = 0; i < count; i++) {
    await connection.send(frame(i));
    if (i % pauseEvery === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const STEPS = { steps: [0.1, 0.5, 1], holdMs: 60, ackTimeoutMs: 300, latencySlackMs: 50 };

Deno.test("steered: a gradual switch moves the traffic in steps, both ways, nothing lost, duplicated or reordered", async () => {
  const network = new MemoryNetwork({ clock, seed: 12 });
  const old = network.transport("old"), next = network.transport("new");
  const { client, server, newAddress, release } = await steeredPair(old, next, "gradual");
  try {
    const count = 3_000;
    const arriving = [receiveInOrder(server, count), receiveInOrder(client, count)];
    const sending = [stream(client, count), stream(server, count)];
    const report = await client.switchTo(() => next.dial(newAddress), STEPS);
    await Promise.all(sending);
    assert.deepEqual(await Promise.all(arriving), [count, count]);
    assert.equal(report.outcome, "completed", report.reason);
    assert.deepEqual(
      report.steps.map((step) => `${step.event} ${step.share}`),
      ["step 0.1", "healthy 0.1", "step 0.5", "healthy 0.5", "step 1", "healthy 1", "completed 1"],
    );
    // The old path is closed on both ends; the new one carries everything.
    const paths = client.steering().paths;
    assert.deepEqual(paths.map((path) => [path.id, path.role]), [[1, "primary"]]);
    await client.drain();
    assert.deepEqual(server.steering().paths.map((path) => path.id), [1]);
    assert.ok(report.steps.find((step) => step.share === 0.1 && step.health)!.health!.new.sent > 0);
  } finally {
    await release();
  }
});

Deno.test("steered: the new transport failing at the first step rolls the switch back; zero frames lost, duplicated or reordered; the history says why", async () => {
  const network = new MemoryNetwork({ clock, seed: 13 });
  const old = network.transport("old");
  const failing = severable(network.transport("new"));
  const { client, server, newAddress, release } = await steeredPair(old, failing, "rollback");
  try {
    const count = 4_000;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count);
    // The new path dies abruptly a few frames into its first step: what it took is lost with it.
    let sent = 0;
    const report = await client.switchTo(async () => {
      const connection = await failing.dial(newAddress);
      const send = connection.send.bind(connection);
      connection.send = (bytes) => {
        if (++sent === 12) failing.connections.forEach((each) => each.sever());
        return send(bytes);
      };
      return connection;
    }, STEPS);
    await sending;
    assert.equal(await arriving, count);
    assert.equal(report.outcome, "rolled-back");
    assert.match(report.reason, /^step 10 %: the new path failed/);
    assert.deepEqual(report.steps.map((step) => step.event), ["step", "rolled-back"]);
    const steering = client.steering();
    assert.deepEqual(steering.paths.map((path) => [path.id, path.role]), [[0, "primary"]]);
    assert.ok(steering.resent > 0, "what the failed path took was sent again on the old one");
    assert.equal(steering.share, 0);
    assert.deepEqual(steering.history.map((step) => step.event), ["step", "rolled-back"]);
  } finally {
    await release();
  }
});

Deno.test("steered: a new path much slower than the old rolls back at its first step, and the traffic is whole", async () => {
  const network = new MemoryNetwork({ clock, seed: 14 });
  network.setLink("slow", "slow-new", { delayMs: 80 });
  const old = network.transport("slow-old-side"), next = network.transport("slow");
  const { client, server, newAddress, release } = await steeredPair(old, next, "slow");
  try {
    const count = 1_500;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count, 10);
    const report = await client.switchTo(() => next.dial(newAddress), { ...STEPS, holdMs: 150, ackTimeoutMs: 1_000 });
    await sending;
    assert.equal(await arriving, count);
    assert.equal(report.outcome, "rolled-back", report.reason);
    assert.match(report.reason, /^step 10 %: the new path's median latency \d+(\.\d+)? ms > /);
    const judged = report.steps.at(-1)!.health!;
    assert.ok(judged.new.medianAckMs! > judged.old.medianAckMs!);
  } finally {
    await release();
  }
});

Deno.test("steered: a new path that takes frames and never delivers them rolls back once they are overdue; they arrive by the old path", async () => {
  const network = new MemoryNetwork({ clock, seed: 15 });
  const old = network.transport("old");
  const blackHole = severable(network.transport("new"));
  const { client, server, newAddress, release } = await steeredPair(old, blackHole, "stall");
  try {
    const count = 1_000;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count, 10);
    let sent = 0;
    const report = await client.switchTo(async () => {
      const connection = await blackHole.dial(newAddress);
      const send = connection.send.bind(connection);
      // After the hello: accepted and dropped, without an error (a path that blackholes).
      connection.send = (bytes) => ++sent === 1 ? send(bytes) : Promise.resolve();
      return connection;
    }, { ...STEPS, ackTimeoutMs: 100 });
    await sending;
    assert.equal(await arriving, count);
    assert.equal(report.outcome, "rolled-back", report.reason);
    assert.match(report.reason, /^step 10 %: the new path delivered 0\.0 % of its frames within 100 ms/);
  } finally {
    await release();
  }
});

Deno.test("steered: a new path that delivers but loses every acknowledgement on it rolls back, and the traffic is whole", async () => {
  const network = new MemoryNetwork({ clock, seed: 19 });
  const old = network.transport("old");
  const mute = severable(network.transport("new"));
  const { client, server, newAddress, release } = await steeredPair(old, mute, "mute");
  try {
    const count = 1_000;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count, 10);
    const switching = client.switchTo(() => mute.dial(newAddress), { ...STEPS, ackTimeoutMs: 100 });
    // Once the first step runs, the accepting end's sends on the new path vanish: its acknowledgements too.
    while (client.steering().history.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    for (const connection of mute.connections) connection.send = () => Promise.resolve();
    const report = await switching;
    await sending;
    assert.equal(await arriving, count);
    assert.equal(report.outcome, "rolled-back", report.reason);
    assert.match(report.reason, /^step 10 %: the new path delivered 0\.0 %/);
  } finally {
    await release();
  }
});

Deno.test("steered: the old path failing during a switch hands everything to the new one; nothing lost", async () => {
  const network = new MemoryNetwork({ clock, seed: 16 });
  const old = severable(network.transport("old"));
  const next = network.transport("new");
  const { client, server, newAddress, release } = await steeredPair(old, next, "handoff");
  try {
    const count = 3_000;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count);
    const switching = client.switchTo(() => next.dial(newAddress), { ...STEPS, holdMs: 200 });
    // Once the first step runs, the old path dies.
    while (client.steering().history.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    old.connections.forEach((connection) => connection.sever());
    const report = await switching;
    await sending;
    assert.equal(await arriving, count);
    assert.equal(report.outcome, "completed", report.reason);
    assert.match(report.reason, /the old path failed/);
  } finally {
    await release();
  }
});

Deno.test("steered: a frame that arrives twice is delivered once, and frames that overtook others wait their turn", async () => {
  const network = new MemoryNetwork({ clock, seed: 20 });
  const transport = steeredTransport(network.transport("replayer"), { clock, ...FAST });
  const { client, server, release } = await connectedPair(transport, "replayed");
  try {
    const data = (seq: number, text: string) => {
      const payload = new TextEncoder().encode(text);
      const bytes = new Uint8Array(9 + payload.length);
      bytes[0] = 2;
      new DataView(bytes.buffer).setFloat64(1, seq);
      bytes.set(payload, 9);
      return lengthPrefixed(bytes);
    };
    const raw = (client as SteeredConnection).underlying as MemoryEndpoint;
    for (const [seq, text] of [[0, "a"], [0, "a"], [2, "c"], [1, "b"], [2, "c"], [1, "b"]] as const) {
      raw.writeRaw(data(seq, text));
    }
    const received: string[] = [];
    for await (const bytes of server.frames()) {
      received.push(new TextDecoder().decode(bytes));
      if (received.length === 3) break;
    }
    assert.deepEqual(received, ["a", "b", "c"]);
    // The last duplicate comes after the third frame: give it a moment (bounded).
    for (let waited = 0; (server as SteeredConnection).steering().duplicatesDropped < 3 && waited < 2_000; waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal((server as SteeredConnection).steering().duplicatesDropped, 3);
  } finally {
    await release();
  }
});

Deno.test("steered: forged, replayed and out-of-window frames from a peer fail the connection with FRAME_INVALID", async () => {
  const network = new MemoryNetwork({ clock, seed: 17 });
  const transport = steeredTransport(network.transport("forger"), { clock, ...FAST });
  const forgeries: [string, Uint8Array][] = [
    ["unknown type", new Uint8Array([99, 1, 2, 3])],
    ["a second hello", new Uint8Array(1 + 16 + 16).fill(0).map((_, i) => i === 0 ? 1 : 0)],
    [
      "a data frame far ahead",
      (() => {
        const bytes = new Uint8Array(9 + 4);
        bytes[0] = 2;
        new DataView(bytes.buffer).setFloat64(1, 1e9);
        return bytes;
      })(),
    ],
    [
      "an acknowledgement of frames never sent",
      (() => {
        const bytes = new Uint8Array(17);
        bytes[0] = 3;
        new DataView(bytes.buffer).setFloat64(1, 5);
        return bytes;
      })(),
    ],
    [
      "a negative sequence number",
      (() => {
        const bytes = new Uint8Array(9);
        bytes[0] = 2;
        new DataView(bytes.buffer).setFloat64(1, -1);
        return bytes;
      })(),
    ],
  ];
  for (const [what, bytes] of forgeries) {
    const { client, server, release } = await connectedPair(transport, `forged-${what}`);
    try {
      ((client as SteeredConnection).underlying as MemoryEndpoint).writeRaw(lengthPrefixed(bytes));
      await assert.rejects(
        async () => {
          for await (const _ of server.frames()) { /* nothing arrives */ }
        },
        (error: unknown) => error instanceof SwitchyardError && error.code === "FRAME_INVALID",
        what,
      );
    } finally {
      await release();
    }
  }
});

Deno.test("steered: bad switch options are refused naming the field; only the dialer steers, one switch at a time", async () => {
  const network = new MemoryNetwork({ clock, seed: 18 });
  const transport = network.transport("options");
  const { client, server, newAddress, release } = await steeredPair(transport, transport, "options");
  try {
    await assert.rejects(
      () => client.switchTo(() => transport.dial(newAddress), { steps: [0.5, 0.2] }),
      (error: Error) =>
        error instanceof SwitchyardError && /steps/.test(error.message) && /increase/.test(error.message),
    );
    await assert.rejects(
      () => client.switchTo(() => transport.dial(newAddress), { steps: [0.5] }),
      /must end at 1/,
    );
    await assert.rejects(() => server.switchTo(() => transport.dial(newAddress)), /only the dialing side steers/);
    const first = client.switchTo(() => transport.dial(newAddress), { holdMs: 20 });
    await assert.rejects(() => client.switchTo(() => transport.dial(newAddress)), /already under way/);
    assert.equal((await first).outcome, "completed");
    const unreachable = await client.switchTo(() => transport.dial("nobody-listens-here"));
    assert.equal(unreachable.outcome, "rolled-back");
    assert.match(unreachable.reason, /could not be opened/);
  } finally {
    await release();
  }
});

Deno.test("steered: a listener closes a connection without a hello, or whose hello opens no session it may", async () => {
  const network = new MemoryNetwork({ clock, seed: 27 });
  const raw = network.transport("outsider");
  const listener = listenSteered([await raw.listen("guarded")], raw.maxFrameBytes, { clock, helloTimeoutMs: 50 });
  try {
    const hello = (pathId: number) =>
      encodeWire({ type: WIRE.HELLO, sessionId: crypto.getRandomValues(new Uint8Array(16)), pathId, primaryId: 0 });
    for (const first of [hello(1), new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0]), undefined]) {
      const connection = await raw.dial("guarded");
      if (first) await connection.send(first);
      // Closed by the listener: a new path of a session it does not know, data before a hello, or silence.
      await connection.closed;
    }
  } finally {
    await listener.close();
  }
});

Deno.test("steered: a second switch whose new path arrives before the first switch's retire (which crosses a slow old path) still finds the right primary", async () => {
  const network = new MemoryNetwork({ clock, seed: 28 });
  network.setLink("slow-dialer", "race-old", { delayMs: 150 });
  const old = network.transport("slow-dialer"), fast = network.transport("fast-dialer");
  const listeners = [
    await network.transport("race-old").listen("race-old"),
    await network.transport("race-a").listen("race-a"),
    await network.transport("race-b").listen("race-b"),
  ];
  const listener = listenSteered(listeners, old.maxFrameBytes, { clock, ...FAST });
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await dialSteered(old, "race-old", { clock, ...FAST });
  const server = (await accepted).value as SteeredConnection;
  try {
    const count = 600;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count, 5);
    const first = await client.switchTo(() => fast.dial("race-a"), { ...STEPS, maxLatencyRatio: 100 });
    // At once: the retire of the old path is still 150 ms away from the server when this hello arrives.
    const second = await client.switchTo(() => fast.dial("race-b"), { ...STEPS, maxLatencyRatio: 100 });
    await sending;
    assert.equal(await arriving, count);
    assert.deepEqual([first.outcome, second.outcome], ["completed", "completed"], `${first.reason}; ${second.reason}`);
    await client.drain();
    assert.deepEqual(server.steering().paths.map((path) => path.id), [2]);
  } finally {
    await listener.close();
    await client.close().catch(() => {});
  }
});

Deno.test("steered: a new path whose sends stall (never resolving) holds nothing up; the switch rolls back and the connection closes", async () => {
  const network = new MemoryNetwork({ clock, seed: 29 });
  const old = network.transport("old"), stalling = network.transport("new");
  const { client, server, newAddress, release } = await steeredPair(old, stalling, "stalled");
  try {
    const count = 800;
    const arriving = receiveInOrder(server, count);
    const sending = stream(client, count, 10);
    let sends = 0;
    const report = await client.switchTo(async () => {
      const connection = await stalling.dial(newAddress);
      const send = connection.send.bind(connection);
      // After the hello, a send that never returns: a link at its buffer limit that never drains.
      connection.send = (bytes) => ++sends === 1 ? send(bytes) : new Promise<void>(() => {});
      return connection;
    }, { ...STEPS, ackTimeoutMs: 100 });
    await sending;
    assert.equal(await arriving, count);
    assert.equal(report.outcome, "rolled-back", report.reason);
    await client.drain();
  } finally {
    await release();
  }
});

Deno.test("steered: an application that does not read what it is sent does not stall its own sends", async () => {
  const network = new MemoryNetwork({ clock, seed: 30 });
  const transport = steeredTransport(network.transport("one-way"), { clock, ...FAST, maxUnackedBytes: 64 * 1024 });
  const { client, server, release } = await connectedPair(transport, "one-way");
  try {
    // The server sends the client frames the client never reads (within the server's window), while the client
    // sends far more than its own window to the server, which reads: the client must still get its
    // acknowledgements.
    for (let i = 0; i < 300; i++) await server.send(new Uint8Array(100).fill(i));
    // 3,000 frames of 32 to 131 bytes: several times the 64 KiB window.
    const count = 3_000;
    const arriving = receiveInOrder(server, count);
    const sending = (async () => {
      for (let i = 0; i < count; i++) await client.send(frame(i));
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("the client's sends stalled")), 10_000);
    });
    await Promise.race([sending, stalled]).finally(() => clearTimeout(timer));
    assert.equal(await arriving, count);
  } finally {
    await release();
  }
});

Deno.test("steered: a frame larger than the window goes alone; the window counts frames and their framing", async () => {
  const network = new MemoryNetwork({ clock, seed: 31 });
  const transport = steeredTransport(network.transport("big"), { clock, ...FAST, maxUnackedBytes: 16 * 1024 });
  const { client, server, release } = await connectedPair(transport, "big");
  try {
    const big = new Uint8Array(100 * 1024).fill(7);
    const empty = new Uint8Array(0);
    const received = (async () => {
      const frames: Uint8Array[] = [];
      for await (const bytes of server.frames()) {
        frames.push(bytes);
        if (frames.length === 3) return frames;
      }
      return frames;
    })();
    await client.send(big);
    await client.send(empty);
    await client.send(big);
    assert.deepEqual((await received).map((bytes) => bytes.length), [big.length, 0, big.length]);
  } finally {
    await release();
  }
});

Deno.test("steered: a peer that acknowledges delivery but never what a path carried fails the connection before its log grows unbounded", async () => {
  const network = new MemoryNetwork({ clock, seed: 32 });
  const raw = network.transport("liar");
  const listener = await raw.listen("liar");
  const accepting = (async () => {
    for await (const connection of listener.connections()) {
      const frames = connection.frames()[Symbol.asyncIterator]();
      const hello = decodeWire((await frames.next()).value as Uint8Array);
      await connection.send(encodeWire(hello));
      // Every data frame acknowledged as delivered, none as carried: the sender's window frees, its path log not.
      let delivered = 0;
      for (let next = await frames.next(); !next.done; next = await frames.next()) {
        const data = decodeWire(next.value);
        if (data.type !== WIRE.DATA) continue;
        delivered = Math.max(delivered, data.seq + 1);
        await connection.send(encodeWire({ type: WIRE.ACK, delivered, received: 0 }));
      }
      return;
    }
  })();
  const client = await dialSteered(raw, "liar", { clock, ...FAST });
  try {
    await assert.rejects(
      async () => {
        for (let i = 0; i < 200_000; i++) await client.send(new Uint8Array(1));
      },
      (error: unknown) => error instanceof SwitchyardError && error.code === "FRAME_INVALID",
    );
  } finally {
    await client.close().catch(() => {});
    await listener.close();
    await accepting.catch(() => {});
  }
});
