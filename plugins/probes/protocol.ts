/**
 * The probe protocol, spoken over any transport: one-byte message types.
 *
 * | type | body | answer |
 * | --- | --- | --- |
 * | 1 PING | u32 sequence | 2 PONG with the same sequence |
 * | 3 BULK | any bytes | none |
 * | 4 BULK_END | u32 transfer id | 5 BULK_ACK: u32 id, f64 bytes received since the last BULK_END |
 *
 * @module
 */

/** Message types. */
export const MessageType = { Ping: 1, Pong: 2, Bulk: 3, BulkEnd: 4, BulkAck: 5 } as const;

/** A PING or PONG. */
export function pingMessage(type: 1 | 2, sequence: number): Uint8Array {
  const message = new Uint8Array(5);
  message[0] = type;
  new DataView(message.buffer).setUint32(1, sequence, true);
  return message;
}

/** A BULK_END, or a BULK_ACK carrying the byte count. */
export function bulkMessage(type: 4 | 5, id: number, bytes = 0): Uint8Array {
  const message = new Uint8Array(13);
  message[0] = type;
  const view = new DataView(message.buffer);
  view.setUint32(1, id, true);
  view.setFloat64(5, bytes, true);
  return message;
}

/** Reads the sequence or id of a message. */
export function messageId(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(1, true);
}

/** Reads the byte count of a BULK_ACK. */
export function ackedBytes(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getFloat64(5, true);
}
