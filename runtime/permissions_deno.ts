/**
 * Deno's permission model, as the plugin loader sees it.
 *
 * @module
 */
import type { Permission } from "../core/loading/plugin.ts";

/** True when the process holds `permission` in full. */
export function denoHasPermission(permission: Permission): boolean {
  return Deno.permissions.querySync({ name: permission }).state === "granted";
}
