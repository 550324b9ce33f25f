/**
 * A complete third-party plugin: a `deflate` compressor built on the
 * runtime's own `CompressionStream`, framed and checked by Switchyard's frame
 * format. It is one self-contained module, as path plugins must be: the
 * loader imports exactly the bytes whose sha384 the manifest pins.
 *
 * @module
 */
import {
  type Codec,
  type Compressor,
  definePlugin,
  framedCompressor,
  type Plugin,
  SwitchyardError,
} from "@switchyard/hybrid";
import * as v from "valibot";

const options = v.strictObject({
  /** Frames claiming more than this are rejected before decoding. */
  maxDecompressedBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 64 * 1024 * 1024),
});

/** Runs `data` through a (de)compression stream, stopping past `limitBytes`. */
async function transform(
  data: Uint8Array,
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<BufferSource> },
  limitBytes: number,
): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  writer.write(data as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.readable.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limitBytes) {
      await reader.cancel();
      throw new SwitchyardError("FRAME_INVALID", `invalid frame: deflate data expands past ${limitBytes} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** The raw deflate codec. */
export const deflateCodec: Codec = {
  name: "deflate",
  level: 6,
  encode: (data) => transform(data, new CompressionStream("deflate-raw"), Number.MAX_SAFE_INTEGER),
  // Decoding stops as soon as output passes the frame's declared length: no bomb gets through.
  decode: (payload, originalLength) => transform(payload, new DecompressionStream("deflate-raw"), originalLength),
};

/** The plugin. */
const plugin: Plugin<"compressor", v.InferOutput<typeof options>, Compressor> = definePlugin({
  id: "compress-deflate",
  version: "1.0.0",
  kind: "compressor",
  description: "deflate through the runtime's CompressionStream",
  modes: ["internet", "hybrid"],
  provides: ["compressor:deflate"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
  options,
  create: (context, { maxDecompressedBytes }) => {
    context.logger.info("deflate ready", { maxDecompressedBytes });
    return framedCompressor(deflateCodec, { maxDecompressedBytes });
  },
});
export default plugin;
