/**
 * A growable byte writer and a bounds-checked reader, for the message codec
 * and the write-ahead log. Numbers are float64 (exact integers to 2^53).
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Short strings seen often (node ids, client ids), kept encoded. */
const encodedStrings = new Map<string, Uint8Array>();
const MAX_CACHED_STRINGS = 4096;
const MAX_CACHED_STRING_LENGTH = 128;

function encodeString(value: string): Uint8Array {
  if (value.length > MAX_CACHED_STRING_LENGTH) return encoder.encode(value);
  let bytes = encodedStrings.get(value);
  if (!bytes) {
    if (encodedStrings.size >= MAX_CACHED_STRINGS) encodedStrings.clear();
    bytes = encoder.encode(value);
    encodedStrings.set(value, bytes);
  }
  return bytes;
}

/** Appends typed values to a buffer that grows as needed. */
export class ByteWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #length = 0;

  /** A writer whose buffer starts at `initialBytes` (default 256) and doubles as needed. */
  constructor(initialBytes = 256) {
    this.#buffer = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Forgets what was written, keeping the buffer, so the writer can be used again. */
  reset(): this {
    this.#length = 0;
    return this;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.byteLength) return;
    const grown = new Uint8Array(Math.max(this.#buffer.byteLength * 2, this.#length + bytes));
    grown.set(this.#buffer.subarray(0, this.#length));
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** One byte. */
  u8(value: number): this {
    this.#reserve(1);
    this.#buffer[this.#length++] = value;
    return this;
  }

  /** An unsigned 32-bit integer, big-endian. */
  u32(value: number): this {
    this.#reserve(4);
    this.#view.setUint32(this.#length, value);
    this.#length += 4;
    return this;
  }

  /** A number (float64, big-endian). */
  f64(value: number): this {
    this.#reserve(8);
    this.#view.setFloat64(this.#length, value);
    this.#length += 8;
    return this;
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array): this {
    this.u32(value.byteLength);
    this.#reserve(value.byteLength);
    this.#buffer.set(value, this.#length);
    this.#length += value.byteLength;
    return this;
  }

  /** Length-prefixed UTF-8. */
  string(value: string): this {
    return this.bytes(encodeString(value));
  }

  /** Overwrites a u32 written earlier at `offset`. */
  patchU32(offset: number, value: number): void {
    this.#view.setUint32(offset, value);
  }

  /** The bytes written (a view; copy it to keep it past further writes). */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#length);
  }
}

/** Reads typed values, throwing `FRAME_INVALID` past the end. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  /** Reads from `bytes`. */
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.byteLength - this.#offset;
  }

  #take(bytes: number): number {
    if (bytes > this.remaining) {
      throw new SwitchyardError("FRAME_INVALID", `truncated: needed ${bytes} bytes at offset ${this.#offset}`);
    }
    const at = this.#offset;
    this.#offset += bytes;
    return at;
  }

  /** One byte. */
  u8(): number {
    return this.#bytes[this.#take(1)];
  }

  /** An unsigned 32-bit integer. */
  u32(): number {
    return this.#view.getUint32(this.#take(4));
  }

  /** A number. */
  f64(): number {
    return this.#view.getFloat64(this.#take(8));
  }

  /** The next `length` bytes, as a view into the buffer (not copied). */
  view(length: number): Uint8Array {
    const at = this.#take(length);
    return this.#bytes.subarray(at, at + length);
  }

  /** Length-prefixed bytes (copied, so they outlive the buffer). */
  bytes(): Uint8Array {
    const length = this.u32();
    const at = this.#take(length);
    return this.#bytes.slice(at, at + length);
  }

  /** Length-prefixed UTF-8. */
  string(): string {
    const length = this.u32();
    const at = this.#take(length);
    return decoder.decode(this.#bytes.subarray(at, at + length));
  }
}
