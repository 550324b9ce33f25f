/**
 * The core, whole: contracts, control and utilities. It imports nothing from
 * `plugins/` or `runtime/` and calls no runtime API (`tests/core/layering_test.ts`
 * checks both); applications usually want the curated `mod.ts` at the root.
 *
 * @module
 */
export * from "./contracts/mod.ts";
export * from "./control/mod.ts";
export * from "./util/mod.ts";
