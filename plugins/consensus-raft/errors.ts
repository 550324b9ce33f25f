/**
 * The error code `consensus-raft` throws besides the core's (the consensus
 * contract's, see `ConsensusError`, and `FRAME_INVALID` for messages and
 * records that do not decode):
 *
 * | code | when |
 * | --- | --- |
 * | `LOG_INCONSISTENT` | the log was asked to do what Raft's rules forbid: overwrite a committed entry, or append past a gap. It means a bug or a lying peer, never a network fault; the replica stops rather than diverge |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode RAFT_ERRORS}. */
export type RaftErrorCode = "LOG_INCONSISTENT";

/** The plugin's codes. */
export const RAFT_ERRORS: ErrorCodes<RaftErrorCode> = defineErrorCodes("consensus-raft", ["LOG_INCONSISTENT"]);
