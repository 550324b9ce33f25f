/**
 * The core, whole: contracts, control, loading and utilities. It imports nothing from
 * `plugins/` or `runtime/` and calls no runtime API (`tests/core/layering_test.ts`
 * checks both). Not a published entry point: applications import the curated
 * `mod.ts` at the root, plugin authors its subpaths.
 *
 * @module
 */
export * from "./contracts/mod.ts";
export * from "./control/mod.ts";
export * from "./loading/mod.ts";
export * from "./util/mod.ts";
