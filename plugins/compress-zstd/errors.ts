/**
 * The error codes `compress-zstd` throws besides the core's (`FRAME_INVALID`,
 * `FRAME_TOO_LARGE` and `INVALID_ARGUMENT` of the compressor contract):
 *
 * | code | when |
 * | --- | --- |
 * | `ZSTD_UNAVAILABLE` | engine `"native"` was asked for on a runtime without a native zstd (`node:zlib` has none there); use `"wasm"` or `"auto"` |
 * | `ZSTD_WORKER_FAILED` | a compression offloaded to the worker pool did not finish: the worker reported an error, crashed, or the pool was closed with the job pending |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode ZSTD_ERRORS}. */
export type ZstdErrorCode = "ZSTD_UNAVAILABLE" | "ZSTD_WORKER_FAILED";

/** The plugin's codes. */
export const ZSTD_ERRORS: ErrorCodes<ZstdErrorCode> = defineErrorCodes("compress-zstd", [
  "ZSTD_UNAVAILABLE",
  "ZSTD_WORKER_FAILED",
]);
