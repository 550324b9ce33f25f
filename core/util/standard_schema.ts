/**
 * The Standard Schema contract (v1), which valibot, zod and others
 * implement: plugin option schemas are typed with it, so a plugin may use
 * whichever validator it likes.
 *
 * @module
 */
import type { FieldIssue } from "./errors.ts";

/** One problem a schema found. */
export interface StandardIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where: keys, or segments with a `key`. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/** What `validate` returns. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** A schema implementing Standard Schema v1, e.g. any valibot schema. */
export interface StandardSchema<Input = unknown, Output = Input> {
  /** The standard interface. */
  readonly "~standard": {
    /** Always 1. */
    readonly version: 1;
    /** The library, e.g. `"valibot"`. */
    readonly vendor: string;
    /** Validates `value`. */
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    /** Type carriers only. */
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** True when `value` looks like a Standard Schema. */
export function isStandardSchema(value: unknown): value is StandardSchema {
  const standard = (value as { "~standard"?: { version?: unknown; validate?: unknown } } | null)?.["~standard"];
  return typeof standard === "object" && standard !== null && standard.version === 1 &&
    typeof standard.validate === "function";
}

/**
 * Validates `value` with `schema`; returns the output or the issues, each with
 * its dotted path prefixed by `prefix`.
 */
export async function validateStandard<Output>(
  schema: StandardSchema<unknown, Output>,
  value: unknown,
  prefix: string,
): Promise<{ ok: true; value: Output } | { ok: false; issues: FieldIssue[] }> {
  const result = await schema["~standard"].validate(value);
  if (!result.issues) return { ok: true, value: result.value };
  return {
    ok: false,
    issues: result.issues.map((issue) => {
      const segments = (issue.path ?? []).map((segment) =>
        String(typeof segment === "object" && segment !== null && "key" in segment ? segment.key : segment)
      );
      return { path: [prefix, ...segments].filter(Boolean).join("."), message: issue.message };
    }),
  };
}
