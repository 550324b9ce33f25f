/**
 * The contracts: what a plugin implements (compressor, transport, probe,
 * consensus engine, the plugin itself) and the values they exchange (modes,
 * samples, frames, client commands). Nothing here decides or runs anything.
 *
 * @module
 */
export * from "./client_command.ts";
export * from "./component.ts";
export * from "./compressor.ts";
export * from "./consensus.ts";
export * from "./frame.ts";
export * from "./instance_checks.ts";
export * from "./mode.ts";
export * from "./mode_agreement.ts";
export * from "./plugin_kind.ts";
export * from "./probe.ts";
export * from "./result_codec.ts";
export * from "./sample.ts";
export * from "./transport.ts";
