/**
 * The default {@linkcode ModuleHost}: files through `node:fs` (which Deno,
 * Bun and Node all provide; regular files only, bounded in size, see
 * `bounded_read.ts`), imports through the runtime's `import()`, and
 * permissions from Deno's permission model where there is one.
 *
 * @module
 */
import { cwd } from "node:process";
import { pathToFileURL } from "node:url";
import type { ModuleHost } from "../core/loading/loader.ts";
import type { Permission } from "../core/loading/plugin.ts";
import { currentRuntime } from "../core/util/runtime.ts";
import { readRegularFile } from "./bounded_read.ts";

/** Reads Deno's permission state; other runtimes have no permission model. */
async function permissionChecker(): Promise<(permission: Permission) => boolean> {
  if (currentRuntime() !== "deno") return () => true;
  const { denoHasPermission } = await import("./permissions_deno.ts");
  return denoHasPermission;
}

/**
 * Creates the host for this runtime.
 *
 * @example
 * ```ts ignore
 * import { createHost } from "./host.ts";
 * const host = await createHost();
 * host.resolve("plugins/manifest.json").href; // file:///…/plugins/manifest.json
 * ```
 */
export async function createHost(): Promise<ModuleHost> {
  const hasPermission = await permissionChecker();
  return {
    runtime: currentRuntime(),
    resolve: (location) =>
      location instanceof URL
        ? location
        : /^[a-z][a-z0-9+.-]*:/i.test(location)
        ? new URL(location)
        : pathToFileURL(location.startsWith("/") ? location : `${cwd()}/${location}`),
    readFile: (url, options) => readRegularFile(url, options),
    importModule: (specifier) => import(specifier),
    hasPermission,
  };
}
