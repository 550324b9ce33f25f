/**
 * Loading: the plugin contract (`definePlugin`, the context a factory
 * receives), the manifest, the loader that imports, checks and creates
 * plugins, and the slot table that turns them into a manager's components.
 * Imports control, contracts and utilities; the runtime's module host and the
 * built-ins are handed in by the composition root (`runtime/from_manifest.ts`).
 *
 * @module
 */
export * from "./loader.ts";
export * from "./manifest.ts";
export * from "./manifest_json_schema.ts";
export * from "./npm_specifier.ts";
export * from "./plugin.ts";
export * from "./slots.ts";
