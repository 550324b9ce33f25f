/**
 * The plugin loader on its own (`@switchyard/hybrid/loader`), for hosts that
 * load plugins without a manager or with a module host of their own:
 * {@linkcode loadPlugins} reads and checks a manifest and creates its plugins,
 * {@linkcode integrityOf} computes the `integrity` of a module file, and
 * {@linkcode manifestJsonSchema} describes the manifest for editors.
 * Applications use `fromManifest`, which does all of it.
 *
 * @example
 * ```ts
 * import { integrityOf } from "@switchyard/hybrid/loader";
 * const integrity = await integrityOf(new TextEncoder().encode("export default {};"));
 * integrity.startsWith("sha256-"); // true
 * ```
 *
 * @module
 */
export { integrityOf, loadPlugins } from "./loader.ts";
export type { LoadedPlugins, LoaderOptions } from "./loader.ts";
export { manifestJsonSchema } from "./manifest_json_schema.ts";
export { UnavailableImplementation } from "./slots.ts";
