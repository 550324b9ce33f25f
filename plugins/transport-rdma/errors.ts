/**
 * The error codes `transport-rdma` throws besides the core's (the transport
 * contract's `TRANSPORT_CLOSED`, `TRANSPORT_UNREACHABLE` and
 * `TRANSPORT_TIMEOUT`, and `INVALID_ARGUMENT` for an address that is not
 * IPv4 or a TLS request, which rsockets do not do):
 *
 * | code | when |
 * | --- | --- |
 * | `RDMA_UNAVAILABLE` | no RDMA here: the runtime has no FFI, or `rsocket()` found no usable RDMA device |
 * | `RDMA_LISTEN_FAILED` | `rbind` or `rlisten` refused the address (in use, or not an RDMA interface's) |
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode RDMA_ERRORS}. */
export type RdmaErrorCode = "RDMA_UNAVAILABLE" | "RDMA_LISTEN_FAILED";

/** The plugin's codes. */
export const RDMA_ERRORS: ErrorCodes<RdmaErrorCode> = defineErrorCodes("transport-rdma", [
  "RDMA_UNAVAILABLE",
  "RDMA_LISTEN_FAILED",
]);
