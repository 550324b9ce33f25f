/**
 * The error codes `admin-http` and its client throw besides the core's:
 *
 * | code | when |
 * | --- | --- |
 * | `ADMIN_SERVER_UNAVAILABLE` | the runtime has no HTTP server the plugin can serve on |
 * | `ADMIN_UNREACHABLE` | the client could not reach the endpoint at all (refused, unknown host, reset); an `AdminConnectionError` names the address and the network's cause |
 *
 * | `NOT_JSON` | the endpoint answered with something that is not JSON (an `AdminApiError`) |
 * | `HTTP` | the endpoint answered with an error that names no code (an `AdminApiError`) |
 *
 * Otherwise an `AdminApiError` (the endpoint answered with an error)
 * carries the endpoint's own code from its JSON answer (`UNAUTHORIZED`,
 * `INVALID_ARGUMENT`, …).
 *
 * @module
 */
import { defineErrorCodes, type ErrorCodes } from "../../core/util/errors.ts";

/** A code of {@linkcode ADMIN_ERRORS}. */
export type AdminErrorCode = "ADMIN_SERVER_UNAVAILABLE" | "ADMIN_UNREACHABLE" | "NOT_JSON" | "HTTP";

/** The plugin's codes. */
export const ADMIN_ERRORS: ErrorCodes<AdminErrorCode> = defineErrorCodes("admin-http", [
  "ADMIN_SERVER_UNAVAILABLE",
  "ADMIN_UNREACHABLE",
  "NOT_JSON",
  "HTTP",
]);
