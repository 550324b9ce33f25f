/**
 * Errors are values with stable codes. Every error Switchyard throws is a
 * {@linkcode SwitchyardError}; match on `code`, never on the message.
 *
 * @module
 */

/**
 * The codes the core throws (its contracts included: every transport,
 * compressor and consensus engine uses these for the outcomes the contracts
 * name). Their string values never change; match on them. A plugin's own
 * codes are declared by the plugin with {@linkcode defineErrorCodes}, next to
 * the plugin, without editing this list.
 */
export const ERROR_CODES = [
  // Configuration and arguments.
  "CONFIG_INVALID",
  "INVALID_ARGUMENT",
  // Components, switching and modes.
  "COMPONENT_UNKNOWN",
  "COMPONENT_INVALID",
  "SWITCH_FAILED",
  "MODE_UNAVAILABLE",
  // Probes.
  "PROBE_TIMEOUT",
  "PROBE_FAILED",
  // Plugins, manifests and the files they come from.
  "PLUGIN_INVALID",
  "PLUGIN_FAILED",
  "MANIFEST_INVALID",
  "FILE_TOO_LARGE",
  // Frames (every codec and wire format) and the transport contract.
  "FRAME_INVALID",
  "FRAME_TOO_LARGE",
  "TRANSPORT_CLOSED",
  "TRANSPORT_UNREACHABLE",
  "TRANSPORT_TIMEOUT",
  "TRANSPORT_OVERLOADED",
  // The consensus contract (see `ConsensusError`).
  "NOT_LEADER",
  "PROPOSAL_DROPPED",
  "CONSENSUS_TIMEOUT",
  "CONSENSUS_CLOSED",
  "STALE_REQUEST",
  "UNKNOWN_CLIENT",
  "RESULT_UNAVAILABLE",
  // Something was thrown that is not an Error (see `toError`).
  "NON_ERROR_THROWN",
] as const;

/** A code the core throws; see {@linkcode ERROR_CODES}. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** What every error code looks like: UPPER_SNAKE_CASE, at most 64 characters. */
export const ERROR_CODE_PATTERN: RegExp = /^[A-Z][A-Z0-9_]{0,63}$/;

/** One problem found in user input: where it is and what is wrong. */
export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `"cooldownMs"` or `"flags.v3RolloutPercentage"`. */
  path: string;
  /** Why the value was rejected. */
  message: string;
}

/**
 * Base class of every error Switchyard throws. `C` is the set of codes it
 * may carry: the core's {@linkcode ErrorCode} by default, so
 * `new SwitchyardError("TYPO", …)` does not compile; a plugin names its own
 * declared codes (`SwitchyardError<MyCode>`, or `MY_ERRORS.error(…)` from
 * {@linkcode defineErrorCodes}).
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
export class SwitchyardError<C extends string = ErrorCode> extends Error {
  /** Stable code; safe to match on. */
  readonly code: C;

  /** Creates an error with a stable `code` and a human-readable message. */
  constructor(code: NoInfer<C>, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SwitchyardError";
    this.code = code;
  }
}

/** The error codes one owner (a plugin or a kit) declares; made by {@linkcode defineErrorCodes}. */
export interface ErrorCodes<C extends string> {
  /** Who owns the codes, e.g. `"wal-kit"`. */
  readonly owner: string;
  /** The codes, in the order declared. */
  readonly codes: readonly C[];
  /** True when `error` is a {@linkcode SwitchyardError} carrying one of these codes. */
  is(error: unknown): error is SwitchyardError<C>;
  /** A {@linkcode SwitchyardError} with one of these codes, to throw or reject with. */
  error(code: NoInfer<C>, message: string, options?: ErrorOptions): SwitchyardError<C>;
}

/**
 * Declares a plugin's own error codes, so it can throw coded errors the core
 * does not know about. Document each code next to the call. Throws
 * `INVALID_ARGUMENT` for a code that is not UPPER_SNAKE_CASE, is declared
 * twice, or is one of the core's {@linkcode ERROR_CODES} (use those as
 * they are).
 *
 * @example
 * ```ts
 * import { defineErrorCodes } from "./errors.ts";
 * // DISK_FULL: the journal could not be written; nothing was lost.
 * export const JOURNAL_ERRORS = defineErrorCodes("my-journal", ["DISK_FULL"]);
 * try {
 *   throw JOURNAL_ERRORS.error("DISK_FULL", "no space left for the journal");
 * } catch (error) {
 *   if (JOURNAL_ERRORS.is(error)) console.log(error.code); // "DISK_FULL"
 * }
 * ```
 */
export function defineErrorCodes<const C extends string>(owner: string, codes: readonly C[]): ErrorCodes<C> {
  const core = new Set<string>(ERROR_CODES);
  const issues: FieldIssue[] = [];
  codes.forEach((code, index) => {
    if (typeof code !== "string" || !ERROR_CODE_PATTERN.test(code)) {
      issues.push({ path: `codes.${index}`, message: `must match ${ERROR_CODE_PATTERN}, got ${JSON.stringify(code)}` });
    } else if (core.has(code)) {
      issues.push({ path: `codes.${index}`, message: `${code} is a core code; throw it as it is` });
    } else if (codes.indexOf(code) !== index) {
      issues.push({ path: `codes.${index}`, message: `${code} is declared twice` });
    }
  });
  if (issues.length > 0) throw new ValidationError("INVALID_ARGUMENT", `error codes of ${owner}`, issues);
  const own = new Set<string>(codes);
  return Object.freeze({
    owner,
    codes: Object.freeze([...codes]),
    is: (error: unknown): error is SwitchyardError<C> => error instanceof SwitchyardError && own.has(error.code),
    error: (code: C, message: string, options?: ErrorOptions) => new SwitchyardError<C>(code, message, options),
  });
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

/**
 * Turns anything thrown into an `Error`: an `Error` as it is, anything else
 * as a `NON_ERROR_THROWN` {@linkcode SwitchyardError} whose message is the
 * value (a string as it is, anything else as JSON) and whose `cause` is the
 * value itself.
 */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new SwitchyardError("NON_ERROR_THROWN", describe(thrown), { cause: thrown });
}

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
