/**
 * Reads the content size a zstd frame header declares (RFC 8878 §3.1.1), so
 * a decoder can refuse a frame before allocating what it claims.
 *
 * @module
 */
import { SwitchyardError } from "../../core/errors.ts";

const MAGIC = 0xfd2fb528;
const invalid = (message: string) => new SwitchyardError("FRAME_INVALID", `invalid frame: zstd ${message}`);

/**
 * The Frame_Content_Size of the zstd frame at the start of `payload`. Throws
 * `FRAME_INVALID` when the magic is wrong, the header is truncated, or the
 * size is not declared.
 */
export function zstdContentSize(payload: Uint8Array): number {
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
  switch (fcsBytes) {
    case 1:
      return payload[at];
    case 2:
      return view.getUint16(at, true) + 256;
    case 4:
      return view.getUint32(at, true);
    default: {
      const size = view.getBigUint64(at, true);
      if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid("content size out of range");
      return Number(size);
    }
  }
}

/** Throws unless the zstd frame in `payload` declares exactly `originalLength` bytes. */
export function checkZstdContentSize(payload: Uint8Array, originalLength: number): void {
  const declared = zstdContentSize(payload);
  if (declared !== originalLength) {
    throw invalid(`frame declares ${declared} bytes, the Switchyard frame says ${originalLength}`);
  }
}
