/**
 * The compressor contract and the frame wrapper that turns a raw codec into
 * a safe compressor.
 *
 * @module
 */
import { SwitchyardError, toError } from "../util/errors.ts";
import { decodeFrameHeader, encodeFrame, FLAG_STORED, type FrameHeader, verifyFrameData } from "./frame.ts";

/** Default bound on decompressed size: 64 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/**
 * What every compressor plugin instance provides. Output is always a
 * self-describing frame (see `core/contracts/frame.ts`).
 */
export interface Compressor {
  /** The codec name written in frames, e.g. `"lz4"` (an adaptive compressor names itself, e.g. `"adaptive"`). */
  readonly codec: string;
  /** Every codec name its frames may carry, when that is not just `codec` (e.g. an adaptive compressor). */
  readonly codecs?: readonly string[];
  /** Compresses `data` into a frame. */
  compress(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Decodes a frame. Rejects corrupt, truncated or foreign input with
   * `FRAME_INVALID`, and frames past the size limit with `FRAME_TOO_LARGE`,
   * never allocating what a frame merely claims.
   */
  decompress(frame: Uint8Array): Promise<Uint8Array>;
}

/** A raw codec: bytes in, bytes out, no framing. */
export interface Codec {
  /** Name written in frames: `[a-z0-9-]{1,32}`. */
  readonly name: string;
  /** Level written in frames (int8). */
  readonly level: number;
  /**
   * Compresses. A synchronous result may be a view of the codec's own memory
   * that stays valid only until its next `encode`: {@linkcode framedCompressor}
   * copies it into the frame before anything else can run.
   */
  encode(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** Decompresses into exactly `originalLength` bytes; may throw on bad input. */
  decode(payload: Uint8Array, originalLength: number): Uint8Array | Promise<Uint8Array>;
}

/** Options of {@linkcode framedCompressor}. */
export interface FramedCompressorOptions {
  /** Frames claiming more than this are rejected before decoding (default 64 MiB). */
  maxDecompressedBytes?: number;
  /** Decoders for frames of other codecs, so a node decodes what peers in other modes send. */
  decoders?: (codec: string) => Codec | undefined;
}

/**
 * Wraps a raw codec: frames its output (storing the original when the codec
 * does not make it smaller), and checks every frame on the way back.
 *
 * @example
 * ```ts
 * import { framedCompressor } from "./compressor.ts";
 * const none = framedCompressor({ name: "none", level: 0, encode: (d) => d, decode: (p) => p });
 * const frame = await none.compress(new Uint8Array([1, 2, 3]));
 * await none.decompress(frame); // Uint8Array [1, 2, 3]
 * ```
 */
export function framedCompressor(codec: Codec, options: FramedCompressorOptions = {}): Compressor {
  const maxBytes = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  return {
    codec: codec.name,
    async compress(data) {
      if (!(data instanceof Uint8Array)) {
        throw new SwitchyardError("INVALID_ARGUMENT", "compress(data): data must be a Uint8Array");
      }
      if (data.length > maxBytes) {
        throw new SwitchyardError(
          "FRAME_TOO_LARGE",
          `compress: ${data.length} bytes exceed the ${maxBytes}-byte limit`,
        );
      }
      const encoded = codec.encode(data);
      // A synchronous result is framed before yielding: it may be the codec's scratch memory.
      const payload = encoded instanceof Uint8Array ? encoded : await encoded;
      const stored = payload.length >= data.length;
      return encodeFrame(codec.name, codec.level, data, stored ? data : payload, stored);
    },
    async decompress(frame) {
      const header = decodeFrameHeader(frame, maxBytes);
      const decoder = header.codec === codec.name ? codec : options.decoders?.(header.codec);
      if (!decoder && (header.flags & FLAG_STORED) === 0) {
        throw new SwitchyardError(
          "FRAME_INVALID",
          `invalid frame: codec "${header.codec}" cannot be decoded by "${codec.name}"`,
        );
      }
      return await decodePayload(decoder, header, frame);
    },
  };
}

/** Decodes a checked frame's payload with `codec` and verifies the result. */
export async function decodePayload(
  codec: Codec | undefined,
  header: FrameHeader,
  frame: Uint8Array,
): Promise<Uint8Array> {
  const payload = frame.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
  let data: Uint8Array;
  if ((header.flags & FLAG_STORED) !== 0) {
    data = payload.slice();
  } else {
    if (!codec) throw new SwitchyardError("FRAME_INVALID", `invalid frame: no codec "${header.codec}" here`);
    try {
      data = await codec.decode(payload, header.originalLength);
    } catch (error) {
      if (error instanceof SwitchyardError) throw error;
      throw new SwitchyardError(
        "FRAME_INVALID",
        `invalid frame: ${codec.name} could not decode it: ${toError(error).message}`,
        {
          cause: error,
        },
      );
    }
  }
  verifyFrameData(header, data);
  return data;
}
