/**
 * What an instance must look like for each plugin kind. The loader checks
 * the factory's result against these before anything uses it.
 *
 * @module
 */
import type { FieldIssue } from "../util/errors.ts";
import type { PluginKind } from "./plugin_kind.ts";

type Shape = Record<string, "function" | "string">;

/**
 * The members each kind's instance must have. Transport and consensus list
 * the entry points of their contracts; their full behaviour is proven by the
 * compliance suites.
 */
export const INSTANCE_SHAPES: Record<PluginKind, Shape> = {
  probe: { name: "string", measure: "function" },
  compressor: { codec: "string", compress: "function", decompress: "function" },
  transport: { listen: "function", dial: "function" },
  consensus: { name: "string", create: "function" },
  extension: {},
};

/** Everything missing from `instance` for `kind`, each with its member name. */
export function instanceIssues(kind: PluginKind, instance: unknown): FieldIssue[] {
  if (typeof instance !== "object" && typeof instance !== "function" || instance === null) {
    return [{
      path: "instance",
      message: `create() must return an object, got ${instance === null ? "null" : typeof instance}`,
    }];
  }
  const record = instance as Record<string, unknown>;
  return Object.entries(INSTANCE_SHAPES[kind]).flatMap(([member, type]) => {
    const actual = typeof record[member];
    return actual === type ? [] : [{
      path: `instance.${member}`,
      message: `a ${kind} must have ${member} (${type}), got ${actual}`,
    }];
  });
}
