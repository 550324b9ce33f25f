/**
 * The transport compliance suite: every frame arrives once and in order on
 * each connection, connections are independent, a slow reader holds the
 * sender back (1 GiB offered keeps memory growth under 64 MiB), close is
 * graceful, and malformed or oversized frames close that connection with a
 * typed error while the process and other connections carry on.
 *
 * @module
 */
import assert from "node:assert/strict";
import { SwitchyardError } from "../core/util/errors.ts";
import { seededRandom } from "../core/util/random.ts";
import type { TransportConnection } from "../core/contracts/transport.ts";
import type { ComplianceCase } from "./case.ts";

/** What the suite needs from a transport under test. */
export interface TransportHarness {
  /** A fresh connected pair, and a way to release everything it holds. */
  pair(): Promise<{ client: TransportConnection; server: TransportConnection; release(): Promise<void> }>;
  /** Writes raw bytes on the wire from `connection` to its peer, unframed. */
  writeRaw(connection: TransportConnection, bytes: Uint8Array): Promise<void> | void;
  /** Dials an address where nothing listens. */
  dialNowhere(): Promise<unknown>;
  /** The transport's frame limit. */
  maxFrameBytes: number;
}

const rss = () => (globalThis as { process?: { memoryUsage(): { rss: number } } }).process?.memoryUsage().rss ?? 0;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A frame carrying its sequence number and a deterministic body. */
function frameFor(sequence: number, size: number): Uint8Array {
  const frame = new Uint8Array(Math.max(8, size));
  const view = new DataView(frame.buffer);
  view.setUint32(0, sequence, true);
  view.setUint32(4, frame.length, true);
  for (let i = 8; i < frame.length; i++) frame[i] = (sequence * 31 + i) & 0xff;
  return frame;
}

function checkFrame(frame: Uint8Array, expected: number): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  assert.equal(view.getUint32(0, true), expected, `frame ${expected} out of order`);
  assert.equal(view.getUint32(4, true), frame.length, `frame ${expected} truncated`);
  for (let i = 8; i < frame.length; i++) {
    if (frame[i] !== ((expected * 31 + i) & 0xff)) assert.fail(`frame ${expected} corrupted at byte ${i}`);
  }
}

async function receiveInOrder(connection: TransportConnection, count: number): Promise<void> {
  let next = 0;
  for await (const frame of connection.frames()) {
    checkFrame(frame, next++);
    if (next === count) return;
  }
  assert.equal(next, count, "the stream ended early");
}

async function sendMany(connection: TransportConnection, count: number, seed: number, maxSize = 4096) {
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) await connection.send(frameFor(i, Math.floor(random.next() * maxSize)));
}

const isTyped = (code: string) => (error: unknown) => {
  assert.ok(error instanceof SwitchyardError, `expected a SwitchyardError, got ${error}`);
  assert.equal(error.code, code);
  return true;
};

/** The cases every transport must pass. */
export function transportCompliance(harness: TransportHarness): ComplianceCase[] {
  return [
    {
      name: "delivers every frame exactly once and in order, both ways at once",
      async run() {
        const { client, server, release } = await harness.pair();
        try {
          await Promise.all([
            sendMany(client, 1_000, 1),
            sendMany(server, 1_000, 2),
            receiveInOrder(server, 1_000),
            receiveInOrder(client, 1_000),
          ]);
          assert.equal(server.stats().framesReceived, 1_000);
          assert.equal(client.stats().framesSent, 1_000);
          assert.equal(client.stats().bytesSent, server.stats().bytesReceived);
        } finally {
          await release();
        }
      },
    },
    {
      name: "keeps concurrent connections independent",
      async run() {
        const pairs = await Promise.all([harness.pair(), harness.pair(), harness.pair()]);
        try {
          await Promise.all(
            pairs.flatMap(({ client, server }, i) => [sendMany(client, 300, 10 + i), receiveInOrder(server, 300)]),
          );
        } finally {
          for (const pair of pairs) await pair.release();
        }
      },
    },
    {
      name: "holds the sender back: 1 GiB offered to a reader that stopped keeps memory growth under 64 MiB",
      async run() {
        const { client, server, release } = await harness.pair();
        try {
          const chunk = new Uint8Array(1024 * 1024).fill(7);
          let accepted = 0;
          const before = rss();
          const offering = (async () => {
            for (let i = 0; i < 1024; i++) {
              await client.send(chunk);
              accepted++;
            }
          })();
          offering.catch(() => {});
          // Wait until the sender stops making progress (or gives up after 10 s).
          let last = -1;
          for (let waited = 0; waited < 10_000 && accepted !== last; waited += 250) {
            last = accepted;
            await pause(250);
          }
          assert.ok(accepted < 1024, "the sender was never held back");
          const grownMiB = (rss() - before) / 2 ** 20;
          assert.ok(accepted <= 64, `${accepted} MiB accepted by a transport whose reader stopped`);
          assert.ok(grownMiB < 64, `sender memory grew by ${grownMiB.toFixed(0)} MiB`);
          // Reading again lets it continue.
          const reader = server.frames()[Symbol.asyncIterator]();
          const stalledAt = accepted;
          for (let i = 0; i < 32; i++) await reader.next();
          for (let waited = 0; waited < 5_000 && accepted === stalledAt; waited += 20) await pause(20);
          assert.ok(accepted > stalledAt, "the sender did not resume once the reader read again");
        } finally {
          await release();
        }
      },
    },
    {
      name: "closes gracefully: the peer gets everything sent before, then the end; later sends are refused",
      async run() {
        const { client, server, release } = await harness.pair();
        try {
          await sendMany(client, 100, 3);
          await client.close();
          await receiveInOrder(server, 100);
          const rest = await server.frames()[Symbol.asyncIterator]().next();
          assert.equal(rest.done, true, "the stream must end after the last frame");
          await client.closed;
          await assert.rejects(client.send(new Uint8Array(1)), isTyped("TRANSPORT_CLOSED"));
          await server.closed;
          await assert.rejects(server.send(new Uint8Array(1)), isTyped("TRANSPORT_CLOSED"));
        } finally {
          await release();
        }
      },
    },
    {
      name: "a malformed frame closes that connection with a typed error; others carry on",
      async run() {
        const { client, server, release } = await harness.pair();
        const other = await harness.pair();
        try {
          const header = new Uint8Array(8);
          new DataView(header.buffer).setUint32(0, 0xffffffff, true); // claims 4 GiB
          await harness.writeRaw(client, header);
          await assert.rejects(
            (async () => {
              for await (const _ of server.frames()) { /* nothing valid arrives */ }
            })(),
            isTyped("FRAME_TOO_LARGE"),
          );
          await server.closed;
          await Promise.all([sendMany(other.client, 50, 4), receiveInOrder(other.server, 50)]);
        } finally {
          await release();
          await other.release();
        }
      },
    },
    {
      name: "an oversized send is refused with a typed error",
      async run() {
        const { client, release } = await harness.pair();
        try {
          await assert.rejects(client.send(new Uint8Array(harness.maxFrameBytes + 1)), isTyped("FRAME_TOO_LARGE"));
        } finally {
          await release();
        }
      },
    },
    {
      name: "dialing where nothing listens fails with TRANSPORT_UNREACHABLE",
      async run() {
        await assert.rejects(harness.dialNowhere(), isTyped("TRANSPORT_UNREACHABLE"));
      },
    },
    {
      name: "drain resolves once everything sent has reached the peer",
      async run() {
        const { client, server, release } = await harness.pair();
        try {
          const receiving = receiveInOrder(server, 200);
          await sendMany(client, 200, 5);
          await client.drain();
          await receiving;
          assert.equal(client.stats().framesSent, 200);
        } finally {
          await release();
        }
      },
    },
  ];
}
