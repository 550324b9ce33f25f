/**
 * The error code `consensus-pbft` throws besides the core's (the consensus
 * contract's, see `ConsensusError`):
 *
 * | code | when |
 * | --- | --- |
 * | `COMMAND_FAILED` | the application's `apply` threw something that is not a coded `SwitchyardError`; the reply carries its message under this code to the proposer |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode PBFT_ERRORS}. */
export type PbftErrorCode = "COMMAND_FAILED";

/** The plugin's codes. */
export const PBFT_ERRORS: ErrorCodes<PbftErrorCode> = defineErrorCodes("consensus-pbft", ["COMMAND_FAILED"]);
