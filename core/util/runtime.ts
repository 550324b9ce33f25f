/**
 * Which JavaScript runtime this is.
 *
 * @module
 */

/** The runtimes Switchyard knows. */
export type Runtime = "deno" | "bun" | "node";

/** Every known runtime. */
export const RUNTIMES: readonly Runtime[] = ["deno", "bun", "node"];

/**
 * The runtime running this code. Bun is checked first because test shims may
 * define a `Deno` global under Bun.
 */
export function currentRuntime(): Runtime {
  const globals = globalThis as Record<string, unknown>;
  if (typeof globals.Bun === "object" && globals.Bun !== null) return "bun";
  if (typeof globals.Deno === "object" && globals.Deno !== null && "version" in (globals.Deno as object)) {
    return "deno";
  }
  return "node";
}
