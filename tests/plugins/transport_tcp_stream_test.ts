// The stream connection's guards against its peer, on a socket the test drives and a ManualClock: no real time.
import assert from "node:assert/strict";
import { ManualClock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import { FrameBudgetPool, lengthPrefixed } from "../../plugins/transport-kit/length_prefix.ts";
import {
  StreamConnection,
  type StreamFault,
  type StreamLimits,
} from "../../plugins/transport-tcp/stream_connection.ts";
import { FakeByteSocket } from "../support/fake_byte_socket.ts";

const LIMITS: StreamLimits = {
  maxFrameBytes: 1 << 20,
  highWaterBytes: 1 << 20,
  frameStallTimeoutMs: 1_000,
  firstByteTimeoutMs: 5_000,
};

/** A connection on a fake socket, with what it received, how it ended, and the faults it reported. */
function open(limits: Partial<StreamLimits> = {}, pool?: FrameBudgetPool, clock = new ManualClock(), read = true) {
  const socket = new FakeByteSocket();
  const faults: StreamFault[] = [];
  const connection = new StreamConnection(socket, { ...LIMITS, ...limits }, {
    clock,
    budget: pool,
    onFault: (fault) => faults.push(fault),
  });
  const received: Uint8Array[] = [];
  const outcome: { error?: SwitchyardError; ended: boolean } = { ended: false };
  const reading = (async () => {
    if (!read) return;
    try {
      for await (const frame of connection.frames()) received.push(frame);
    } catch (error) {
      outcome.error = error as SwitchyardError;
    }
    outcome.ended = true;
  })();
  return { socket, connection, clock, faults, received, outcome, reading };
}

const prefix = (length: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length, true);
  return bytes;
};

Deno.test("stream connection: a peer that sends nothing within firstByteTimeoutMs is closed with TRANSPORT_TIMEOUT", async () => {
  const { socket, clock, faults, outcome, reading } = open();
  await clock.advance(4_999);
  assert.equal(outcome.ended, false);
  await clock.advance(1);
  await reading;
  assert.equal(outcome.error?.code, "TRANSPORT_TIMEOUT");
  assert.match(outcome.error!.message, /sent nothing within 5000 ms/);
  assert.deepEqual(faults, ["first-byte-timeout"]);
  assert.ok(socket.destroyed);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("stream connection: once the peer spoke, a quiet connection between frames stays open", async () => {
  const { socket, connection, clock, faults, received, outcome } = open();
  socket.deliver(lengthPrefixed(new Uint8Array([1, 2])));
  await clock.advance(60_000);
  assert.equal(outcome.ended, false);
  assert.deepEqual(received, [new Uint8Array([1, 2])]);
  assert.deepEqual(faults, []);
  assert.equal(clock.pendingTimers, 0, "no timer is left running between frames");
  await connection.close();
});

Deno.test("stream connection: a frame that stops arriving for frameStallTimeoutMs closes the connection; progress resets the wait", async () => {
  const pool = new FrameBudgetPool(1 << 20);
  const { socket, clock, faults, outcome, reading } = open({}, pool);
  socket.deliver(new Uint8Array([...prefix(100), ...new Uint8Array(10)]));
  await clock.advance(600);
  socket.deliver(new Uint8Array(10)); // progress at 600 ms
  await clock.advance(999); // 999 ms since the last byte
  assert.equal(outcome.ended, false);
  assert.equal(pool.reservedBytes, 100);
  await clock.advance(1);
  await reading;
  assert.equal(outcome.error?.code, "TRANSPORT_TIMEOUT");
  assert.match(outcome.error!.message, /in the middle of a frame \(20 bytes of it held\)/);
  assert.deepEqual(faults, ["frame-stall-timeout"]);
  assert.ok(socket.destroyed);
  assert.equal(pool.reservedBytes, 0, "the frame's reservation is given back");
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("stream connection: a partial prefix counts as a frame under way", async () => {
  const { socket, clock, faults, reading } = open();
  socket.deliver(new Uint8Array([1, 0]));
  await clock.advance(1_000);
  await reading;
  assert.deepEqual(faults, ["frame-stall-timeout"]);
  assert.ok(socket.destroyed);
});

Deno.test("stream connection: time while reading is paused (the application is behind) is not the peer's stall", async () => {
  const { socket, connection, clock, faults } = open({ highWaterBytes: 1024 }, undefined, new ManualClock(), false);
  // Two frames the application has not taken: reading pauses, with the next frame under way.
  socket.deliver(new Uint8Array([...lengthPrefixed(new Uint8Array(2_000)), ...prefix(50), 1]));
  assert.ok(socket.paused);
  await clock.advance(10_000);
  assert.deepEqual(faults, []);
  assert.equal(socket.destroyed, false);
  // Hand the frames to a reader: reading resumes and the peer's stall clock starts then.
  const frames = connection.frames()[Symbol.asyncIterator]();
  await frames.next();
  assert.equal(socket.paused, false);
  await clock.advance(999);
  assert.deepEqual(faults, []);
  await clock.advance(1);
  assert.deepEqual(faults, ["frame-stall-timeout"]);
  await assert.rejects(frames.next(), (error: SwitchyardError) => error.code === "TRANSPORT_TIMEOUT");
});

Deno.test("stream connection: connections sharing a budget: a frame that does not fit closes its connection only", async () => {
  const pool = new FrameBudgetPool(1_000);
  const clock = new ManualClock();
  const first = open({}, pool, clock);
  const second = open({}, pool, clock);
  first.socket.deliver(new Uint8Array([...prefix(700), 1]));
  second.socket.deliver(new Uint8Array([...prefix(400), 1]));
  await second.reading;
  assert.equal(second.outcome.error?.code, "TRANSPORT_OVERLOADED");
  assert.deepEqual(second.faults, ["frame-over-budget"]);
  assert.ok(second.socket.destroyed);
  // The first carries on and completes its frame.
  first.socket.deliver(new Uint8Array(699));
  await clock.advance(0);
  assert.equal(first.received.length, 1);
  assert.equal(first.received[0].length, 700);
  assert.equal(pool.reservedBytes, 0);
  await first.connection.close();
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("stream connection: a stream cut in the middle of a frame fails with FRAME_INVALID, counted, its budget given back", async () => {
  const pool = new FrameBudgetPool(1 << 20);
  const { socket, clock, faults, outcome, reading } = open({}, pool);
  socket.deliver(new Uint8Array([...prefix(100), 1, 2, 3]));
  assert.equal(pool.reservedBytes, 100);
  socket.onEnd();
  await reading;
  assert.equal(outcome.error?.code, "FRAME_INVALID");
  assert.deepEqual(faults, ["frame-invalid"]);
  assert.equal(pool.reservedBytes, 0);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("stream connection: a timeout without a clock is refused", () => {
  assert.throws(
    () => new StreamConnection(new FakeByteSocket(), LIMITS),
    (error: SwitchyardError) => error.code === "INVALID_ARGUMENT",
  );
});
