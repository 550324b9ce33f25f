/**
 * Request bodies of the mutating routes: the media type (`415` unless JSON),
 * the size (`413` beyond `maxBodyBytes`, counted while reading so a chunked
 * body is cut off as soon as it is too large; the answer carries
 * `connection: close`, and the runtime closes the socket rather than
 * draining the rest), and parsing.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** Why a body was refused, before any parsing. */
export type BodyRefusal = { status: 413 | 415; code: string; message: string };

/** True for `application/json`, with or without parameters such as `charset`. */
export function isJsonMediaType(contentType: string | null): boolean {
  if (contentType === null) return false;
  return contentType.split(";", 1)[0].trim().toLowerCase() === "application/json";
}

/** The refusal for a JSON route whose content type is not JSON. */
export function mediaTypeRefusal(contentType: string | null): BodyRefusal {
  return {
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
    message: contentType === null
      ? "the body must be JSON: send content-type: application/json"
      : `the body must be JSON (content-type: application/json), got ${JSON.stringify(contentType.slice(0, 100))}`,
  };
}

const tooLarge = (maxBodyBytes: number): BodyRefusal => ({
  status: 413,
  code: "PAYLOAD_TOO_LARGE",
  message: `request body exceeds ${maxBodyBytes} bytes`,
});

/**
 * Reads `request`'s body, at most `maxBodyBytes` of it: the bytes, or a
 * `413` refusal as soon as the declared length or the bytes read exceed it
 * (the rest is not read; the stream is cancelled).
 */
export async function readBodyCapped(request: Request, maxBodyBytes: number): Promise<Uint8Array | BodyRefusal> {
  if (!request.body) return new Uint8Array(0);
  const declared = request.headers.get("content-length");
  if (declared !== null && !request.headers.has("transfer-encoding") && Number(declared) > maxBodyBytes) {
    await request.body.cancel().catch(() => {});
    return tooLarge(maxBodyBytes);
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBodyBytes) {
      await reader.cancel().catch(() => {});
      return tooLarge(maxBodyBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}
