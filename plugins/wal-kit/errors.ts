/**
 * The error code the write-ahead-log kit throws besides the core's:
 *
 * | code | when |
 * | --- | --- |
 * | `STORAGE_CORRUPT` | a log file is damaged beyond a torn tail (a {@linkcode WalCorruptError} names the file, the byte offset and the damage); the file is left as it is and nothing loads from it |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode WAL_ERRORS}. */
export type WalErrorCode = "STORAGE_CORRUPT";

/** The kit's codes: `WAL_ERRORS.is(error)` tells a corrupt log from other failures. */
export const WAL_ERRORS: ErrorCodes<WalErrorCode> = defineErrorCodes("wal-kit", ["STORAGE_CORRUPT"]);
