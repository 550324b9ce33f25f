/**
 * Utilities every layer uses: time (`Clock`), errors with codes, a typed
 * emitter, logging, seeded randomness, timeouts, validation, versions and the
 * runtime's name. They import nothing else of the project.
 *
 * @module
 */
export * from "./clock.ts";
export * from "./errors.ts";
export * from "./events.ts";
export * from "./logger.ts";
export * from "./random.ts";
export * from "./runtime.ts";
export * from "./semver.ts";
export * from "./standard_schema.ts";
export * from "./timeout.ts";
export * from "./validation.ts";
export * from "./version.ts";
export * from "./xxhash32.ts";
