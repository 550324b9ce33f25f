/**
 * Reading a request body under a size limit, for the key-value store's
 * routes: never more than the limit is held, whatever the client sends.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/**
 * Discards the rest of a body the handler started reading. Cancelling it
 * instead would leave Deno's server waiting on the connection for good; Bun
 * closes the connection after the answer anyway (and this read then ends).
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done) { /* discarded */ }
  } catch { /* the connection closed: nothing left to discard */ }
}

/**
 * The body, or `null` when it is over `maxBytes`: at once when
 * `content-length` says so (the body is not touched), or as soon as the
 * stream passes the limit (what follows is discarded, never held).
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array | null> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return null;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      discardRest(reader);
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}
