/**
 * The wire frames of a steered connection (`steered.ts`), one path's view.
 * Each frame starts with a one-byte type; numbers are float64 (exact
 * integers up to 2^53), big-endian.
 *
 * | type | layout | meaning |
 * | --- | --- | --- |
 * | hello | session id (16 bytes), path id, primary path id | the first frame each way on a path; the dialer's primary when it opened it |
 * | data | sequence number, payload | one application frame |
 * | ack | delivered, received on this path | everything below `delivered` arrived; this path carried `received` |
 * | steer | path id, share | from now on, send `share` of the frames on that path |
 * | retire | path id | that path is done: send nothing more on it, close it |
 * | close | frames sent | the sender's last frame is below this number |
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";

/** The frame types. */
export const WIRE = { HELLO: 1, DATA: 2, ACK: 3, STEER: 4, RETIRE: 5, CLOSE: 6 } as const;
/** Bytes of a session id. */
export const SESSION_ID_BYTES = 16;
/** Bytes a data frame adds to its payload. */
export const DATA_OVERHEAD = 9;

/** A decoded frame. */
export type WireFrame =
  | { type: typeof WIRE.HELLO; sessionId: Uint8Array; pathId: number; primaryId: number }
  | { type: typeof WIRE.DATA; seq: number; payload: Uint8Array }
  | { type: typeof WIRE.ACK; delivered: number; received: number }
  | { type: typeof WIRE.STEER; pathId: number; share: number }
  | { type: typeof WIRE.RETIRE; pathId: number }
  | { type: typeof WIRE.CLOSE; sent: number };

function numbers(type: number, values: number[], prefix?: Uint8Array): Uint8Array {
  const frame = new Uint8Array(1 + (prefix?.length ?? 0) + 8 * values.length);
  frame[0] = type;
  if (prefix) frame.set(prefix, 1);
  const view = new DataView(frame.buffer);
  values.forEach((value, i) => view.setFloat64(1 + (prefix?.length ?? 0) + 8 * i, value));
  return frame;
}

/** Encodes a frame. */
export function encodeWire(frame: WireFrame): Uint8Array {
  switch (frame.type) {
    case WIRE.HELLO:
      return numbers(WIRE.HELLO, [frame.pathId, frame.primaryId], frame.sessionId);
    case WIRE.DATA: {
      const bytes = new Uint8Array(DATA_OVERHEAD + frame.payload.length);
      bytes[0] = WIRE.DATA;
      new DataView(bytes.buffer).setFloat64(1, frame.seq);
      bytes.set(frame.payload, DATA_OVERHEAD);
      return bytes;
    }
    case WIRE.ACK:
      return numbers(WIRE.ACK, [frame.delivered, frame.received]);
    case WIRE.STEER:
      return numbers(WIRE.STEER, [frame.pathId, frame.share]);
    case WIRE.RETIRE:
      return numbers(WIRE.RETIRE, [frame.pathId]);
    case WIRE.CLOSE:
      return numbers(WIRE.CLOSE, [frame.sent]);
  }
}

const invalid = (why: string) => new SwitchyardError("FRAME_INVALID", `steered: ${why}`);

/** A count or id read from the wire: a whole number, not negative. */
function whole(view: DataView, offset: number, name: string): number {
  const value = view.getFloat64(offset);
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(`${name} ${value} is not a whole number >= 0`);
  return value;
}

/** Decodes a frame; throws `FRAME_INVALID` naming what is wrong. */
export function decodeWire(bytes: Uint8Array): WireFrame {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (length: number, name: string) => {
    if (bytes.length !== length) throw invalid(`a ${name} frame has ${bytes.length} bytes, not ${length}`);
  };
  switch (bytes[0]) {
    case WIRE.HELLO:
      need(1 + SESSION_ID_BYTES + 16, "hello");
      return {
        type: WIRE.HELLO,
        sessionId: bytes.slice(1, 1 + SESSION_ID_BYTES),
        pathId: whole(view, 1 + SESSION_ID_BYTES, "path id"),
        primaryId: whole(view, 1 + SESSION_ID_BYTES + 8, "primary path id"),
      };
    case WIRE.DATA:
      if (bytes.length < DATA_OVERHEAD) throw invalid(`a data frame has ${bytes.length} bytes`);
      return { type: WIRE.DATA, seq: whole(view, 1, "sequence number"), payload: bytes.subarray(DATA_OVERHEAD) };
    case WIRE.ACK:
      need(17, "ack");
      return { type: WIRE.ACK, delivered: whole(view, 1, "delivered"), received: whole(view, 9, "received") };
    case WIRE.STEER: {
      need(17, "steer");
      const share = view.getFloat64(9);
      if (!(share >= 0 && share <= 1)) throw invalid(`share ${share} is not between 0 and 1`);
      return { type: WIRE.STEER, pathId: whole(view, 1, "path id"), share };
    }
    case WIRE.RETIRE:
      need(9, "retire");
      return { type: WIRE.RETIRE, pathId: whole(view, 1, "path id") };
    case WIRE.CLOSE:
      need(9, "close");
      return { type: WIRE.CLOSE, sent: whole(view, 1, "frames sent") };
    default:
      throw invalid(`unknown frame type ${bytes[0]}`);
  }
}
