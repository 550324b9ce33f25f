/**
 * How a state machine's results become bytes and back. The deduplication
 * table keeps the result of every client's latest command so a retry can be
 * answered without applying it again, and that table travels inside
 * snapshots: results must therefore be encodable, the same way on every
 * replica.
 *
 * A state machine names its codec in `ConsensusStateMachine.resultCodec`;
 * without one, {@linkcode jsonResultCodec} is used.
 *
 * @module
 */
import { SwitchyardError } from "../util/errors.ts";

/**
 * Encodes and decodes a state machine's results. `encode` must be
 * deterministic (the same result gives the same bytes on every replica) and
 * throw (any error) for a value it cannot encode; `decode(encode(x))` must
 * give a value equal to `x`.
 *
 * @example
 * ```ts
 * import type { ResultCodec } from "./result_codec.ts";
 * const bigintCodec: ResultCodec<bigint> = {
 *   encode: (value) => new TextEncoder().encode(value.toString()),
 *   decode: (bytes) => BigInt(new TextDecoder().decode(bytes)),
 * };
 * ```
 */
export interface ResultCodec<Result> {
  /** The bytes of `result`; throws when it cannot be encoded. */
  encode(result: Result): Uint8Array;
  /** The result that `bytes` encode. */
  decode(bytes: Uint8Array): Result;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Throws naming the first part of `value` (by path) that JSON would not give back unchanged. */
function assertJsonValue(value: unknown, path: string, seen: Set<object>): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return;
    throw new SwitchyardError("INVALID_ARGUMENT", `${path} is ${value}, which JSON cannot encode`);
  }
  if (typeof value !== "object") {
    throw new SwitchyardError("INVALID_ARGUMENT", `${path} is a ${typeof value}, which JSON cannot encode`);
  }
  if (seen.has(value)) throw new SwitchyardError("INVALID_ARGUMENT", `${path} is a circular reference`);
  seen.add(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new SwitchyardError("INVALID_ARGUMENT", `${path}[${i}] is a hole in the array`);
      assertJsonValue(value[i], `${path}[${i}]`, seen);
    }
  } else {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? "object";
      throw new SwitchyardError(
        "INVALID_ARGUMENT",
        `${path} is a ${kind}, not a plain object: JSON would not give it back (give the state machine a resultCodec)`,
      );
    }
    for (const [key, field] of Object.entries(value)) assertJsonValue(field, `${path}.${key}`, seen);
  }
  seen.delete(value);
}

/**
 * The default codec: JSON values (`null`, booleans, finite numbers, strings,
 * arrays and plain objects of them) and a top-level `undefined` (a state
 * machine whose `apply` returns nothing). Anything JSON would not give back
 * unchanged (a function, a `bigint`, `NaN`, a `Date`, a `Map`, a class
 * instance, `undefined` inside an object) is refused with
 * `INVALID_ARGUMENT` naming its path, e.g. `result.items[2]`.
 *
 * @example
 * ```ts
 * import { jsonResultCodec } from "./result_codec.ts";
 * jsonResultCodec.decode(jsonResultCodec.encode({ previous: "green" })); // { previous: "green" }
 * ```
 */
export const jsonResultCodec: ResultCodec<unknown> = {
  encode(result) {
    if (result === undefined) return new Uint8Array(0);
    assertJsonValue(result, "result", new Set());
    return encoder.encode(JSON.stringify(result));
  },
  decode(bytes) {
    return bytes.byteLength === 0 ? undefined : JSON.parse(decoder.decode(bytes));
  },
};

/**
 * For state machines whose results are bytes already: stored as they are
 * (copied, so later changes to the array do not reach the table).
 *
 * @example
 * ```ts
 * import { bytesResultCodec } from "./result_codec.ts";
 * bytesResultCodec.encode(new Uint8Array([1, 2])); // Uint8Array [1, 2]
 * ```
 */
export const bytesResultCodec: ResultCodec<Uint8Array> = {
  encode(result) {
    if (!(result instanceof Uint8Array)) {
      throw new SwitchyardError("INVALID_ARGUMENT", "result is not a Uint8Array (bytesResultCodec)");
    }
    return result.slice();
  },
  decode: (bytes) => bytes.slice(),
};
