/**
 * The layout of a sealed frame, big-endian:
 *
 * ```text
 * u8   format (0xA1)
 * u8   length of `from`, then `from` (UTF-8, 1..255 bytes)
 * u8   length of `to`, then `to` (UTF-8, 1..255 bytes)
 * f64  session   sender's run: its start time in ms, increasing across its restarts
 * f64  counter   frame number in the session for this receiver, from 1
 * f64  sentAtMs  sender's wall clock when it sealed the frame
 * ...  payload
 * 32   tag       HMAC-SHA-256, under the key of (from → to), of every byte before it
 * ```
 *
 * @module
 */
import { MAX_NODE_ID_BYTES } from "./keys.ts";

/** First byte of a sealed frame. */
export const SEALED_FORMAT = 0xa1;
/** Bytes of the HMAC-SHA-256 tag. */
export const TAG_BYTES = 32;

/** The authenticated header of a sealed frame. */
export interface SealedHeader {
  /** Sender. */
  from: string;
  /** Receiver. */
  to: string;
  /** Sender's run. */
  session: number;
  /** Frame number in the session, for this receiver. */
  counter: number;
  /** Sender's clock when sealed. */
  sentAtMs: number;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 of a node id, or undefined when it is empty or longer than {@linkcode MAX_NODE_ID_BYTES}. */
export function nodeIdBytes(id: string): Uint8Array | undefined {
  const bytes = encoder.encode(id);
  return bytes.byteLength > 0 && bytes.byteLength <= MAX_NODE_ID_BYTES ? bytes : undefined;
}

/** Lays out header and payload, leaving the tag's 32 bytes zero; returns the frame. */
export function layOut(header: SealedHeader, from: Uint8Array, to: Uint8Array, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(3 + from.byteLength + to.byteLength + 24 + payload.byteLength + TAG_BYTES);
  const view = new DataView(frame.buffer);
  let at = 0;
  frame[at++] = SEALED_FORMAT;
  frame[at++] = from.byteLength;
  frame.set(from, at);
  at += from.byteLength;
  frame[at++] = to.byteLength;
  frame.set(to, at);
  at += to.byteLength;
  view.setFloat64(at, header.session);
  view.setFloat64(at + 8, header.counter);
  view.setFloat64(at + 16, header.sentAtMs);
  frame.set(payload, at + 24);
  return frame;
}

/** A parsed sealed frame: its header, where the payload lies, and the tag. */
export interface ParsedFrame {
  /** The header (not verified yet). */
  header: SealedHeader;
  /** The payload (a view into the frame). */
  payload: Uint8Array;
  /** The bytes the tag covers (a view). */
  signed: Uint8Array;
  /** The tag (a view). */
  tag: Uint8Array;
}

/** Parses a sealed frame's layout; returns why when it is not one. Checks nothing cryptographic. */
export function parseSealed(frame: Uint8Array): ParsedFrame | string {
  if (frame.byteLength < 1 + 2 + 2 + 24 + TAG_BYTES) return `${frame.byteLength} bytes is too short`;
  if (frame[0] !== SEALED_FORMAT) return `format byte ${frame[0]} is not ${SEALED_FORMAT}`;
  const body = frame.byteLength - TAG_BYTES;
  let at = 1;
  const ids: string[] = [];
  for (const field of ["from", "to"]) {
    const length = frame[at++];
    if (length === 0 || at + length > body) return `${field}: bad length ${length}`;
    try {
      ids.push(strictDecoder.decode(frame.subarray(at, at + length)));
    } catch {
      return `${field}: not UTF-8`;
    }
    at += length;
  }
  if (at + 24 > body) return "header past the end";
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const session = view.getFloat64(at);
  const counter = view.getFloat64(at + 8);
  const sentAtMs = view.getFloat64(at + 16);
  if (!(Number.isFinite(session) && session >= 0)) return `session: ${session} is not a finite number >= 0`;
  if (!(Number.isSafeInteger(counter) && counter >= 1)) return `counter: ${counter} is not a safe integer >= 1`;
  if (!(Number.isFinite(sentAtMs) && sentAtMs >= 0)) return `sentAtMs: ${sentAtMs} is not a finite number >= 0`;
  return {
    header: { from: ids[0], to: ids[1], session, counter, sentAtMs },
    payload: frame.subarray(at + 24, body),
    signed: frame.subarray(0, body),
    tag: frame.subarray(body),
  };
}
