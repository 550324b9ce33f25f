/**
 * The error code `transport-tcp` throws besides the core's (the transport
 * contract's `TRANSPORT_*` and `FRAME_*` codes):
 *
 * | code | when |
 * | --- | --- |
 * | `TLS_HANDSHAKE_FAILED` | a TLS connection (Bun's sockets) closed before its handshake completed; a dial retries it and fails with `TRANSPORT_UNREACHABLE` once its attempts are spent |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode TCP_ERRORS}. */
export type TcpErrorCode = "TLS_HANDSHAKE_FAILED";

/** The plugin's codes. */
export const TCP_ERRORS: ErrorCodes<TcpErrorCode> = defineErrorCodes("transport-tcp", ["TLS_HANDSHAKE_FAILED"]);
