/**
 * The error codes `consensus-adaptive` throws besides the core's (the
 * consensus contract's, see `ConsensusError`):
 *
 * | code | when |
 * | --- | --- |
 * | `HANDOVER_CORRUPT` | the handover file on disk does not decode; the replica refuses to start rather than guess its epoch (the file is left as it is) |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode ADAPTIVE_ERRORS}. */
export type AdaptiveErrorCode = "HANDOVER_CORRUPT";

/** The plugin's codes. */
export const ADAPTIVE_ERRORS: ErrorCodes<AdaptiveErrorCode> = defineErrorCodes("consensus-adaptive", [
  "HANDOVER_CORRUPT",
]);
