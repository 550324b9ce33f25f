/**
 * Control: the detector that picks a mode, the orchestrator and adapter that
 * switch to it, the manager that wires them, and the narrow view of it that
 * extensions get. Imports the contracts and utilities only.
 *
 * @module
 */
export * from "./adapter.ts";
export * from "./config.ts";
export * from "./detector.ts";
export * from "./extension_host.ts";
export * from "./flags.ts";
export * from "./history.ts";
export * from "./manager.ts";
export * from "./manager_events.ts";
export * from "./manager_stats.ts";
export * from "./metrics.ts";
export * from "./mode_tally.ts";
export * from "./orchestrator.ts";
export * from "./robust_summary.ts";
export * from "./plugin_status.ts";
