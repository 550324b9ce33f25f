/**
 * What an engine replicates for a proposal: the application's command and,
 * when it has one, the client identity (client id and sequence), in one
 * versioned byte envelope. Every replica decodes the same identity from the
 * same log entry, so every replica deduplicates the same way; the format is
 * the same for every engine, so a log or snapshot outlives an engine switch.
 *
 * Layout: `0xFF 0x43 version(1) flags(u8)`, then, when flag bit 0 is set,
 * the client id (`u16` byte length, UTF-8) and the sequence (`f64`, big
 * endian), then the command bytes to the end. `0xFF` never starts UTF-8
 * text, so bytes without the marker are read as a command written before
 * identities existed (no identity), and logs of earlier versions still load.
 *
 * @module
 */
import * as v from "valibot";
import type { ClientRequest, ProposeOptions } from "./consensus.ts";
import { SwitchyardError } from "../util/errors.ts";
import { parseOrThrow } from "../util/validation.ts";

/** Longest client id, in characters. */
export const MAX_CLIENT_ID_LENGTH = 128;

const MARKER = [0xff, 0x43] as const;
const VERSION = 1;
const HEADER_BYTES = 4;
const IDENTIFIED = 1;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const identitySchema = v.pipe(
  v.object({
    clientId: v.optional(
      v.pipe(
        v.string(),
        v.minLength(1, "must not be empty"),
        v.maxLength(MAX_CLIENT_ID_LENGTH, `must be at most ${MAX_CLIENT_ID_LENGTH} characters`),
      ),
    ),
    sequence: v.optional(
      v.pipe(
        v.number(),
        v.safeInteger("must be a safe integer"),
        v.minValue(1, "must be at least 1"),
      ),
    ),
  }),
  v.forward(
    v.check((input) => input.clientId === undefined || input.sequence !== undefined, "is required with clientId"),
    ["sequence"],
  ),
  v.forward(
    v.check((input) => input.sequence === undefined || input.clientId !== undefined, "is required with sequence"),
    ["clientId"],
  ),
);

/**
 * The client identity in `options`, validated; `undefined` when there is
 * none. Throws a `ValidationError` (code `INVALID_ARGUMENT`) naming the
 * field: `options.clientId` or `options.sequence`.
 *
 * @example
 * ```ts
 * import { clientRequestOf } from "./client_command.ts";
 * clientRequestOf({ clientId: "c1", sequence: 3, timeoutMs: 100 }); // { clientId: "c1", sequence: 3 }
 * clientRequestOf({ timeoutMs: 100 }); // undefined
 * ```
 */
export function clientRequestOf(options: ProposeOptions | undefined): ClientRequest | undefined {
  if (options?.clientId === undefined && options?.sequence === undefined) return undefined;
  const { clientId, sequence } = parseOrThrow(
    identitySchema,
    { clientId: options.clientId, sequence: options.sequence },
    "the client identity",
    "INVALID_ARGUMENT",
    "options",
  );
  return { clientId: clientId!, sequence: sequence! };
}

/** A command as replicated, decoded. */
export interface ClientCommand {
  /** The application's command. */
  command: Uint8Array;
  /** Who sent it, when it was proposed with an identity. */
  request?: ClientRequest;
}

/**
 * Encodes a command and its optional identity for the log.
 *
 * @example
 * ```ts
 * import { decodeClientCommand, encodeClientCommand } from "./client_command.ts";
 * const bytes = encodeClientCommand(new Uint8Array([1]), { clientId: "c1", sequence: 1 });
 * decodeClientCommand(bytes).request; // { clientId: "c1", sequence: 1 }
 * ```
 */
export function encodeClientCommand(command: Uint8Array, request?: ClientRequest): Uint8Array {
  const id = request ? encoder.encode(request.clientId) : new Uint8Array(0);
  const identityBytes = request ? 2 + id.byteLength + 8 : 0;
  const bytes = new Uint8Array(HEADER_BYTES + identityBytes + command.byteLength);
  const view = new DataView(bytes.buffer);
  bytes.set([MARKER[0], MARKER[1], VERSION, request ? IDENTIFIED : 0]);
  let offset = HEADER_BYTES;
  if (request) {
    view.setUint16(offset, id.byteLength);
    bytes.set(id, offset + 2);
    view.setFloat64(offset + 2 + id.byteLength, request.sequence);
    offset += identityBytes;
  }
  bytes.set(command, offset);
  return bytes;
}

/**
 * Encodes a proposal: validates the identity in `options` (see
 * {@linkcode clientRequestOf}) and wraps the command with it. What an
 * engine's `propose` replicates.
 */
export function encodeProposal(command: Uint8Array, options: ProposeOptions | undefined): Uint8Array {
  return encodeClientCommand(command, clientRequestOf(options));
}

function invalid(message: string): SwitchyardError {
  return new SwitchyardError("FRAME_INVALID", `client command: ${message}`);
}

/**
 * Decodes what {@linkcode encodeClientCommand} made; bytes without the
 * marker are a command without identity. Throws `FRAME_INVALID` for an
 * unknown version or flags, a truncated identity, or an identity that
 * {@linkcode clientRequestOf} would refuse.
 */
export function decodeClientCommand(bytes: Uint8Array): ClientCommand {
  if (bytes.byteLength < 2 || bytes[0] !== MARKER[0] || bytes[1] !== MARKER[1]) return { command: bytes };
  if (bytes.byteLength < HEADER_BYTES) throw invalid(`${bytes.byteLength} bytes, shorter than its header`);
  if (bytes[2] !== VERSION) throw invalid(`format ${bytes[2]} is not ${VERSION}`);
  const flags = bytes[3];
  if (flags === 0) return { command: bytes.subarray(HEADER_BYTES) };
  if (flags !== IDENTIFIED) throw invalid(`unknown flags ${flags}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < HEADER_BYTES + 2) throw invalid("truncated client id length");
  const idLength = view.getUint16(HEADER_BYTES);
  const sequenceAt = HEADER_BYTES + 2 + idLength;
  if (bytes.byteLength < sequenceAt + 8) throw invalid("truncated client identity");
  let clientId: string;
  try {
    clientId = decoder.decode(bytes.subarray(HEADER_BYTES + 2, sequenceAt));
  } catch {
    throw invalid("the client id is not UTF-8");
  }
  const sequence = view.getFloat64(sequenceAt);
  if (clientId.length < 1 || clientId.length > MAX_CLIENT_ID_LENGTH) {
    throw invalid(`client id of ${clientId.length} characters (1 to ${MAX_CLIENT_ID_LENGTH})`);
  }
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw invalid(`sequence ${sequence} is not a safe integer >= 1`);
  return { command: bytes.subarray(sequenceAt + 8), request: { clientId, sequence } };
}
