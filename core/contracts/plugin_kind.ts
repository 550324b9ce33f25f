/**
 * The plugin kinds (which contract a plugin's instance meets) and the
 * permissions a plugin may declare: plain values every layer can name.
 *
 * @module
 */

/** What a plugin is. The kind decides which contract its instance must meet. */
export type PluginKind = "transport" | "consensus" | "compressor" | "probe" | "extension";

/** Every plugin kind. */
export const PLUGIN_KINDS: readonly PluginKind[] = ["transport", "consensus", "compressor", "probe", "extension"];

/** What a plugin may touch. On Deno these are checked against the process's permissions before loading. */
export type Permission = "net" | "ffi" | "read" | "write" | "env" | "run" | "sys";

/** Every permission name. */
export const PERMISSIONS: readonly Permission[] = ["net", "ffi", "read", "write", "env", "run", "sys"];
