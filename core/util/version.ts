/**
 * The core's version, which plugins' `compat.core` ranges are checked
 * against. Kept equal to `deno.json`'s version (a test checks it).
 *
 * @module
 */

/** This core's version. */
export const CORE_VERSION = "0.1.0";
