/**
 * Control: the detector that picks a mode, the orchestrator and adapter that
 * switch to it, the manager that wires them, and the manifest and loader that
 * build a manager's plugins. Imports the contracts and utilities only.
 *
 * @module
 */
export * from "./adapter.ts";
export * from "./config.ts";
export * from "./detector.ts";
export * from "./flags.ts";
export * from "./history.ts";
export * from "./loader.ts";
export * from "./manager.ts";
export * from "./manager_events.ts";
export * from "./manifest.ts";
export * from "./manifest_json_schema.ts";
export * from "./metrics.ts";
export * from "./npm_specifier.ts";
export * from "./orchestrator.ts";
export * from "./slots.ts";
