import assert from "node:assert/strict";
import { decodeFrameHeader, encodeFrame, SwitchyardError } from "../../mod.ts";
import { xxhash32 } from "../../core/util/xxhash32.ts";

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("xxhash32 matches the published test vectors", () => {
  assert.equal(xxhash32(new Uint8Array(0)), 0x02cc5d05);
  assert.equal(xxhash32(text("a")), 0x550d7456);
  assert.equal(xxhash32(text("abc")), 0x32d153ff);
  assert.equal(xxhash32(text("Nobody inspects the spammish repetition")), 0xe2293b2f);
});

Deno.test("a frame round-trips its header fields and payload", () => {
  const original = text("hello, frames");
  const frame = encodeFrame("lz4", -3, original, text("xyz"), false);
  const header = decodeFrameHeader(frame, 1024);
  assert.deepEqual(
    { ...header },
    {
      codec: "lz4",
      level: -3,
      flags: 0,
      originalLength: original.length,
      checksum: header.checksum,
      payloadOffset: 21,
      payloadLength: 3,
    },
  );
});

Deno.test("every single-bit flip anywhere in a frame is caught before decoding", () => {
  const frame = encodeFrame("zstd", 19, new Uint8Array(100), text("some compressed bytes"), false);
  for (let byte = 0; byte < frame.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const corrupt = frame.slice();
      corrupt[byte] ^= 1 << bit;
      assert.throws(() => decodeFrameHeader(corrupt, 1 << 20), (error: unknown) => {
        assert.ok(error instanceof SwitchyardError);
        assert.ok(error.code === "FRAME_INVALID" || error.code === "FRAME_TOO_LARGE", error.code);
        return true;
      }, `flip at byte ${byte} bit ${bit}`);
    }
  }
});

Deno.test("encodeFrame rejects bad codec names and levels", () => {
  assert.throws(() => encodeFrame("LZ4!", 0, new Uint8Array(0), new Uint8Array(0), true), {
    name: "SwitchyardError",
    code: "INVALID_ARGUMENT",
  });
  assert.throws(() => encodeFrame("lz4", 200, new Uint8Array(0), new Uint8Array(0), true), {
    name: "SwitchyardError",
    code: "INVALID_ARGUMENT",
  });
});
