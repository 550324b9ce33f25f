/**
 * The LZ4 codec (block format of lz4_flex, compiled to WASM), behind the
 * frame's checks: the block's own size prefix must equal the frame's
 * original length before a byte is allocated for it.
 *
 * @module
 */
import type { Codec } from "../../core/compressor.ts";
import { SwitchyardError } from "../../core/errors.ts";
import { compress, decompress } from "../../wasm/lz4.js";

/** LZ4 has one speed here; the frame records level 0. */
export const lz4Codec: Codec = {
  name: "lz4",
  level: 0,
  encode: (data) => compress(data),
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
    return decompress(payload);
  },
};
