/**
 * The runtime layer: what `core/` leaves out on purpose. The default module
 * host (files through `node:fs`, bounded and regular files only; imports
 * through the runtime's `import()`; Deno's permissions where there are any)
 * and the composition root that builds a manager from a manifest with that
 * host and the built-in plugins.
 *
 * @module
 */
export { createHost } from "./host.ts";
export { fromManifest } from "./from_manifest.ts";
export type { FromManifestOptions } from "./from_manifest.ts";
