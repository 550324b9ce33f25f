import assert from "node:assert/strict";
import { FrameBudgetPool, LengthPrefixDecoder, lengthPrefixed } from "../../plugins/transport-kit/length_prefix.ts";
import { SwitchyardError } from "../../core/util/errors.ts";

const prefix = (length: number) => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, length, true);
  return bytes;
};
const code = (expected: string) => (error: unknown) => error instanceof SwitchyardError && error.code === expected;

Deno.test("length prefix: frames split anywhere, and several in one chunk, come out whole and in order", () => {
  const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(1000).fill(7), new Uint8Array([9])];
  const wire = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length + 4, 0));
  let offset = 0;
  for (const frame of frames) {
    wire.set(lengthPrefixed(frame), offset);
    offset += frame.length + 4;
  }
  for (const step of [1, 2, 3, 5, 64, 333, wire.length]) {
    const decoder = new LengthPrefixDecoder(4096, new FrameBudgetPool(4096));
    const out: Uint8Array[] = [];
    for (let at = 0; at < wire.length; at += step) out.push(...decoder.push(wire.slice(at, at + step)));
    assert.deepEqual(out, frames, `chunks of ${step} bytes`);
    assert.equal(decoder.partialBytes, 0);
    assert.equal(decoder.reservedBytes, 0);
    decoder.end();
  }
});

Deno.test("length prefix: a frame spanning chunks reserves its length from the budget first and gives it back when whole", () => {
  const pool = new FrameBudgetPool(1000);
  const decoder = new LengthPrefixDecoder(1000, pool);
  const wire = lengthPrefixed(new Uint8Array(600).fill(5));
  assert.deepEqual(decoder.push(wire.subarray(0, 104)), []);
  assert.equal(pool.reservedBytes, 600);
  assert.equal(decoder.partialBytes, 100, "what has arrived is held, not the whole length");
  assert.deepEqual(decoder.push(wire.subarray(104, 500)), []);
  assert.equal(decoder.partialBytes, 496);
  const [frame] = decoder.push(wire.subarray(500));
  assert.deepEqual(frame, new Uint8Array(600).fill(5));
  assert.equal(pool.reservedBytes, 0);
  assert.equal(pool.peakReservedBytes, 600);
});

Deno.test("length prefix: a frame that does not fit what is left of a shared budget is refused before its bytes are kept", () => {
  const pool = new FrameBudgetPool(1000);
  const first = new LengthPrefixDecoder(1000, pool);
  const second = new LengthPrefixDecoder(1000, pool);
  first.push(new Uint8Array([...prefix(700), 1, 2, 3]));
  assert.equal(pool.reservedBytes, 700);
  assert.throws(() => second.push(new Uint8Array([...prefix(400), 1])), code("TRANSPORT_OVERLOADED"));
  assert.equal(pool.reservedBytes, 700, "the refused frame took nothing");
  assert.equal(second.partialBytes, 0);
  // A frame that fits what is left is taken; one that arrives whole in a chunk needs no reservation at all.
  const third = new LengthPrefixDecoder(1000, pool);
  assert.deepEqual(third.push(new Uint8Array([...prefix(2), 8, 9])), [new Uint8Array([8, 9])]);
  third.push(new Uint8Array([...prefix(300), 1]));
  assert.equal(pool.reservedBytes, 1000);
  // A decoder whose stream ended gives back what it held, cut short or not.
  assert.throws(() => first.end(), code("FRAME_INVALID"));
  third.dispose();
  assert.equal(pool.reservedBytes, 0);
});

Deno.test("length prefix: a length past the limit is refused as soon as the prefix is read", () => {
  const pool = new FrameBudgetPool(1 << 20);
  const decoder = new LengthPrefixDecoder(1024, pool);
  assert.throws(() => decoder.push(prefix(1025)), code("FRAME_TOO_LARGE"));
  assert.equal(pool.reservedBytes, 0);
});
