/**
 * HMAC-SHA-256 for sealed frames, computed synchronously with `node:crypto`
 * (present on Deno, Bun and Node). WebCrypto computes the same tag, but each
 * call is a promise settled on a worker thread: on a busy two-core machine
 * that hop cost about four times the hash itself on Deno and forty times on
 * Bun, twice per frame, on every consensus message's path.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The HMAC-SHA-256 tag of `data` under `key` (32 bytes). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(data).digest();
}

/** Whether `tag` is the HMAC-SHA-256 of `data` under `key`, compared in constant time. */
export function verifyHmacSha256(key: Uint8Array, data: Uint8Array, tag: Uint8Array): boolean {
  const expected = hmacSha256(key, data);
  return tag.byteLength === expected.byteLength && timingSafeEqual(expected, tag);
}
