/**
 * Reads the content size a zstd frame header declares (RFC 8878 §3.1.1), so
 * a decoder can refuse a frame before allocating what it claims, and walks
 * the frame's block headers to find where it ends, so that both engines
 * refuse the same trailing bytes.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";

const MAGIC = 0xfd2fb528;
const invalid = (message: string) => new SwitchyardError("FRAME_INVALID", `invalid frame: zstd ${message}`);

/**
 * The Frame_Content_Size of the zstd frame at the start of `payload`. Throws
 * `FRAME_INVALID` when the magic is wrong, the header is truncated, or the
 * size is not declared.
 */
export function zstdContentSize(payload: Uint8Array): number {
  return readHeader(payload).contentSize;
}

function readHeader(payload: Uint8Array): { contentSize: number; headerBytes: number; checksumBytes: number } {
  if (payload.length < 6) throw invalid("frame shorter than a header");
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw invalid("magic number missing");
  const descriptor = payload[4];
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  if ((descriptor >> 3) & 1) throw invalid("reserved header bit set");
  const dictionaryIdBytes = [0, 1, 2, 4][descriptor & 3];
  const fcsBytes = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag];
  if (fcsBytes === 0) throw invalid("frame does not declare its content size");
  const at = 5 + (singleSegment ? 0 : 1) + dictionaryIdBytes;
  if (payload.length < at + fcsBytes) throw invalid("header truncated");
  let contentSize: number;
  switch (fcsBytes) {
    case 1:
      contentSize = payload[at];
      break;
    case 2:
      contentSize = view.getUint16(at, true) + 256;
      break;
    case 4:
      contentSize = view.getUint32(at, true);
      break;
    default: {
      const size = view.getBigUint64(at, true);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid("content size out of range");
      contentSize = Number(size);
    }
  }
  return { contentSize, headerBytes: at + fcsBytes, checksumBytes: (descriptor >> 2) & 1 ? 4 : 0 };
}

/**
 * The bytes of the zstd frame at the start of `payload`: its header, its
 * blocks (RFC 8878 §3.1.1.2) and its optional checksum. Throws
 * `FRAME_INVALID` when the frame is cut short or has a reserved block type.
 */
export function zstdFrameBytes(payload: Uint8Array): number {
  const { headerBytes, checksumBytes } = readHeader(payload);
  let at = headerBytes;
  for (;;) {
    if (at + 3 > payload.length) throw invalid("frame truncated inside a block header");
    const block = payload[at] | (payload[at + 1] << 8) | (payload[at + 2] << 16);
    const type = (block >> 1) & 3;
    if (type === 3) throw invalid(`reserved block type at byte ${at}`);
    at += 3 + (type === 1 ? 1 : block >>> 3); // an RLE block holds one byte
    if (at > payload.length) throw invalid("frame truncated inside a block");
    if (block & 1) break;
  }
  at += checksumBytes;
  if (at > payload.length) throw invalid("frame truncated inside its checksum");
  return at;
}

/**
 * Throws `FRAME_INVALID` unless `payload` is exactly one zstd frame (nothing
 * after it: no trailing bytes, no second frame) declaring exactly
 * `originalLength` bytes.
 */
export function checkZstdFrame(payload: Uint8Array, originalLength: number): void {
  const declared = zstdContentSize(payload);
  if (declared !== originalLength) {
    throw invalid(`frame declares ${declared} bytes, the Switchyard frame says ${originalLength}`);
  }
  const frameBytes = zstdFrameBytes(payload);
  if (frameBytes !== payload.length) {
    throw invalid(`${payload.length - frameBytes} bytes follow the frame (trailing bytes or a second frame)`);
  }
}

/**
 * `payload` without the empty frames (content size 0) that follow its first
 * frame. Deno's `node:zlib` zstd ends outputs over 16 KiB with one; the
 * decoders accept exactly one frame, so encoders send exactly one.
 */
export function withoutEmptyTrailingFrames(payload: Uint8Array): Uint8Array {
  const first = zstdFrameBytes(payload);
  for (let at = first; at < payload.length;) {
    const rest = payload.subarray(at);
    if (zstdContentSize(rest) !== 0) throw invalid(`the encoder wrote a second frame with content at byte ${at}`);
    at += zstdFrameBytes(rest);
  }
  return first === payload.length ? payload : payload.subarray(0, first);
}
