/**
 * The LZ4 codec: the block encoder of `wasm/lz4_block.js` (see
 * `encoder.ts`) and lz4-wasm's decoder (lz4_flex compiled to WASM, see
 * `decoder.ts`), behind the frame's checks: the block's own size prefix must
 * equal the frame's original length before a byte is allocated for it.
 *
 * @module
 */
import type { Codec } from "../../core/contracts/compressor.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import { Lz4Decoder } from "./decoder.ts";
import { Lz4BlockEncoder } from "./encoder.ts";

const encoder = new Lz4BlockEncoder();
/** The decoder every LZ4 frame goes through (exported for tests of its trap recovery). */
export const lz4Decoder: Lz4Decoder = new Lz4Decoder();

/** LZ4 has one speed here; the frame records level 0. Its `encode` returns a view valid until the next `encode`. */
export const lz4Codec: Codec = {
  name: "lz4",
  level: 0,
  encode: (data) => encoder.encode(data),
  decode(payload, originalLength) {
    if (payload.length < 4) {
      throw new SwitchyardError("FRAME_INVALID", "invalid frame: lz4 block shorter than its prefix");
    }
    const claimed = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
    if (claimed !== originalLength) {
      throw new SwitchyardError(
        "FRAME_INVALID",
        `invalid frame: lz4 block claims ${claimed} bytes, the frame says ${originalLength}`,
      );
    }
    return lz4Decoder.decode(payload);
  },
};
