/**
 * Runs a valibot schema and turns its issues into a {@linkcode ValidationError}
 * that names every bad field.
 *
 * @module
 */
import * as v from "valibot";
import { type FieldIssue, ValidationError } from "./errors.ts";

/** Converts valibot issues to field issues with dotted paths. */
export function toFieldIssues(issues: readonly v.BaseIssue<unknown>[], prefix = ""): FieldIssue[] {
  return issues.map((issue) => {
    const dotted = v.getDotPath(issue) ?? "";
    const path = [prefix, dotted].filter(Boolean).join(".");
    return { path, message: issue.message };
  });
}

/**
 * Parses `input` with `schema`, or throws a {@linkcode ValidationError}
 * listing every issue (valibot runs with `abortEarly: false`).
 */
export function parseOrThrow<TSchema extends v.GenericSchema>(
  schema: TSchema,
  input: unknown,
  subject: string,
  code: "CONFIG_INVALID" | "INVALID_ARGUMENT" = "INVALID_ARGUMENT",
  prefix = "",
): v.InferOutput<TSchema> {
  const result = v.safeParse(schema, input, { abortEarly: false });
  if (result.success) return result.output;
  throw new ValidationError(code, subject, toFieldIssues(result.issues, prefix));
}
