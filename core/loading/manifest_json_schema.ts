/**
 * The manifest format as JSON Schema, generated from the same valibot
 * schema the loader validates with, for editors and other tools.
 *
 * @module
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { manifestSchema } from "./manifest.ts";

/**
 * The JSON Schema (draft-07) of a plugin manifest.
 *
 * @example
 * ```ts
 * import { manifestJsonSchema } from "./manifest_json_schema.ts";
 * const schema = manifestJsonSchema();
 * schema.title; // "Switchyard plugin manifest"
 * ```
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = toJsonSchema(manifestSchema as v.GenericSchema, { errorMode: "ignore" }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    title: "Switchyard plugin manifest",
    description: "Which plugins to load, from where, with which options, and which plugin fills which slot per mode.",
    ...schema,
  };
}
