/**
 * Errors are values with stable codes. Every error Switchyard throws is a
 * {@linkcode SwitchyardError}; match on `code`, never on the message.
 *
 * @module
 */

/** Stable machine-readable error codes. */
export type ErrorCode =
  | "CONFIG_INVALID"
  | "INVALID_ARGUMENT"
  | "COMPONENT_UNKNOWN"
  | "COMPONENT_INVALID"
  | "PROBE_TIMEOUT"
  | "PROBE_FAILED"
  | "SWITCH_FAILED"
  | "MODE_UNAVAILABLE"
  | "PLUGIN_INVALID"
  | "PLUGIN_FAILED"
  | "MANIFEST_INVALID"
  | "FRAME_INVALID"
  | "FRAME_TOO_LARGE"
  | "TRANSPORT_CLOSED"
  | "TRANSPORT_UNREACHABLE"
  | "TRANSPORT_TIMEOUT"
  | "TRANSPORT_OVERLOADED"
  | "NOT_LEADER"
  | "PROPOSAL_DROPPED"
  | "CONSENSUS_TIMEOUT"
  | "CONSENSUS_CLOSED"
  | "STALE_REQUEST"
  | "UNKNOWN_CLIENT"
  | "RESULT_UNAVAILABLE"
  | "COMMAND_FAILED"
  | "STORAGE_CORRUPT";

/** One problem found in user input: where it is and what is wrong. */
export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `"cooldownMs"` or `"flags.v3RolloutPercentage"`. */
  path: string;
  /** Why the value was rejected. */
  message: string;
}

/**
 * Base class of every error Switchyard throws.
 *
 * @example
 * ```ts
 * import { SwitchyardError } from "./errors.ts";
 * try {
 *   throw new SwitchyardError("INVALID_ARGUMENT", "mode must be one of ...");
 * } catch (error) {
 *   if (error instanceof SwitchyardError && error.code === "INVALID_ARGUMENT") {
 *     // handle it
 *   }
 * }
 * ```
 */
export class SwitchyardError extends Error {
  /** Stable code; safe to match on. */
  readonly code: ErrorCode;

  /** Creates an error with a stable `code` and a human-readable message. */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SwitchyardError";
    this.code = code;
  }
}

/**
 * Input was rejected; `issues` names every bad field and why.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "../control/config.ts";
 * import { ValidationError } from "./errors.ts";
 * try {
 *   resolveConfig({ cooldownMs: -1 });
 * } catch (error) {
 *   if (error instanceof ValidationError) console.log(error.issues[0].path); // "cooldownMs"
 * }
 * ```
 */
export class ValidationError extends SwitchyardError {
  /** Every problem found, each with its field path. */
  readonly issues: readonly FieldIssue[];

  /** Creates a validation error; the message lists every issue. */
  constructor(
    code: "CONFIG_INVALID" | "INVALID_ARGUMENT" | "PLUGIN_INVALID" | "MANIFEST_INVALID",
    subject: string,
    issues: readonly FieldIssue[],
  ) {
    const lines = issues.map((issue) => `  - ${issue.path || "(root)"}: ${issue.message}`);
    super(code, `${subject} is invalid:\n${lines.join("\n")}`);
    this.name = "ValidationError";
    this.issues = issues;
  }
}

/** Turns anything thrown into an `Error`, keeping the original as `cause`. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === "string" ? thrown : JSON.stringify(thrown), { cause: thrown });
}
