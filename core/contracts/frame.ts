/**
 * The self-describing compression frame. Every frame names its codec and
 * level and carries the original length and a checksum, so any node decodes
 * any frame whatever its own mode. The checksum (xxHash32) covers the header
 * fields and the payload, the bytes that travel: a frame is verified before
 * any decoder sees it, so corrupt, truncated or foreign input never reaches a
 * codec, and the decoded length is checked after.
 *
 * Layout (integers little-endian):
 *
 * | offset | size | field |
 * | --- | --- | --- |
 * | 0 | 2 | magic `"SY"` (0x53 0x59) |
 * | 2 | 1 | format version (1) |
 * | 3 | 1 | codec name length `n` (1–32) |
 * | 4 | n | codec name, ASCII `[a-z0-9-]` |
 * | 4+n | 1 | level (int8) |
 * | 5+n | 1 | flags: bit 0 = stored (payload is the original bytes) |
 * | 6+n | 4 | original length |
 * | 10+n | 4 | payload length |
 * | 14+n | 4 | xxHash32 of the payload, seeded with xxHash32 of bytes 0 … 13+n |
 * | 18+n | … | payload |
 *
 * @module
 */
import { xxhash32 } from "../util/xxhash32.ts";
import { SwitchyardError } from "../util/errors.ts";

/** The frame format version this code writes and reads. */
export const FRAME_VERSION = 1;
const MAGIC_0 = 0x53;
const MAGIC_1 = 0x59;
const FIXED_HEADER_BYTES = 18;
const CODEC_NAME = /^[a-z0-9-]{1,32}$/;
/** Payload flag: the payload is the original bytes, uncompressed. */
export const FLAG_STORED = 1;

/** A decoded frame header. */
export interface FrameHeader {
  /** Codec name, e.g. `"lz4"`. */
  codec: string;
  /** Codec level (int8). */
  level: number;
  /** Flag bits. */
  flags: number;
  /** Length of the original data. */
  originalLength: number;
  /** xxHash32 of the payload, seeded with the header's. */
  checksum: number;
  /** Offset of the payload within the frame. */
  payloadOffset: number;
  /** Length of the payload. */
  payloadLength: number;
}

/** True when `name` can be written into a frame. */
export function isCodecName(name: string): boolean {
  return CODEC_NAME.test(name);
}

/** Builds a frame around `payload` (compressed, or the original when `stored`). */
export function encodeFrame(
  codec: string,
  level: number,
  original: Uint8Array,
  payload: Uint8Array,
  stored: boolean,
): Uint8Array {
  if (!isCodecName(codec)) {
    throw new SwitchyardError("INVALID_ARGUMENT", `codec name ${JSON.stringify(codec)} must match ${CODEC_NAME}`);
  }
  if (!Number.isInteger(level) || level < -128 || level > 127) {
    throw new SwitchyardError("INVALID_ARGUMENT", `level ${level} must fit int8`);
  }
  const name = new TextEncoder().encode(codec);
  const headerBytes = FIXED_HEADER_BYTES + name.length;
  const frame = new Uint8Array(headerBytes + payload.length);
  const view = new DataView(frame.buffer);
  frame[0] = MAGIC_0;
  frame[1] = MAGIC_1;
  frame[2] = FRAME_VERSION;
  frame[3] = name.length;
  frame.set(name, 4);
  const at = 4 + name.length;
  view.setInt8(at, level);
  frame[at + 1] = stored ? FLAG_STORED : 0;
  view.setUint32(at + 2, original.length, true);
  view.setUint32(at + 6, payload.length, true);
  frame.set(payload, headerBytes);
  view.setUint32(at + 10, frameChecksum(frame, at + 10, headerBytes), true);
  return frame;
}

/** xxHash32 of the payload, seeded with xxHash32 of the header up to the checksum field. */
function frameChecksum(frame: Uint8Array, checksumAt: number, payloadAt: number): number {
  return xxhash32(frame.subarray(payloadAt), xxhash32(frame.subarray(0, checksumAt)));
}

const invalid = (message: string) => new SwitchyardError("FRAME_INVALID", `invalid frame: ${message}`);

/**
 * Reads and checks a frame: magic, version, codec name, flags, that the
 * payload length matches the bytes present, and the checksum. Throws
 * `FRAME_INVALID` for anything else, and `FRAME_TOO_LARGE` when the original
 * length exceeds `maxOriginalBytes`, before any memory is spent on it.
 */
export function decodeFrameHeader(frame: Uint8Array, maxOriginalBytes: number): FrameHeader {
  if (!(frame instanceof Uint8Array)) throw invalid("expected bytes (Uint8Array)");
  if (frame.length < FIXED_HEADER_BYTES + 1) throw invalid(`${frame.length} bytes is shorter than any header`);
  if (frame[0] !== MAGIC_0 || frame[1] !== MAGIC_1) throw invalid("bad magic (not a Switchyard frame)");
  if (frame[2] !== FRAME_VERSION) throw invalid(`unsupported format version ${frame[2]}`);
  const nameLength = frame[3];
  if (nameLength < 1 || nameLength > 32) throw invalid(`codec name length ${nameLength} out of range`);
  const headerBytes = FIXED_HEADER_BYTES + nameLength;
  if (frame.length < headerBytes) throw invalid("truncated header");
  const codec = String.fromCharCode(...frame.subarray(4, 4 + nameLength));
  if (!isCodecName(codec)) throw invalid("codec name is not [a-z0-9-]");
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const at = 4 + nameLength;
  const flags = frame[at + 1];
  if ((flags & ~FLAG_STORED) !== 0) throw invalid(`unknown flags 0x${flags.toString(16)}`);
  const originalLength = view.getUint32(at + 2, true);
  const payloadLength = view.getUint32(at + 6, true);
  if (payloadLength !== frame.length - headerBytes) {
    throw invalid(`payload length ${payloadLength} does not match the ${frame.length - headerBytes} bytes present`);
  }
  if (originalLength > maxOriginalBytes) {
    throw new SwitchyardError(
      "FRAME_TOO_LARGE",
      `frame claims ${originalLength} bytes, more than the ${maxOriginalBytes}-byte limit`,
    );
  }
  if ((flags & FLAG_STORED) !== 0 && payloadLength !== originalLength) {
    throw invalid("stored payload length differs from the original length");
  }
  const checksum = view.getUint32(at + 10, true);
  if (frameChecksum(frame, at + 10, headerBytes) !== checksum) throw invalid("checksum mismatch (corrupt frame)");
  return {
    codec,
    level: view.getInt8(at),
    flags,
    originalLength,
    checksum,
    payloadOffset: headerBytes,
    payloadLength,
  };
}

/** Throws `FRAME_INVALID` unless `data` has the header's original length. */
export function verifyFrameData(header: FrameHeader, data: Uint8Array): void {
  if (data.length !== header.originalLength) {
    throw invalid(`decoded ${data.length} bytes, header says ${header.originalLength}`);
  }
}
