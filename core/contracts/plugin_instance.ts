/**
 * What each plugin kind's `create()` returns, as types: the contract the
 * kind stands for. `definePlugin` holds a plugin to it at compile time (a
 * compressor plugin whose `create` returns a transport does not compile);
 * the loader checks the same at run time (`instance_checks.ts`), for
 * modules that were not type-checked.
 *
 * @module
 */
import type { Compressor } from "./compressor.ts";
import type { ConsensusEngine } from "./consensus.ts";
import type { PluginKind } from "./plugin_kind.ts";
import type { Probe } from "./probe.ts";
import type { Transport } from "./transport.ts";

/**
 * An extension's instance: any object. If it has `close()`, the manager
 * calls it when it closes.
 */
export type Extension = object & {
  /** Releases what the extension holds (servers, timers); called by the manager's `close()`. */
  close?(): void | Promise<void>;
};

/** The instance contract of each plugin kind. */
export interface PluginInstances {
  /** A compressor plugin's instance. */
  compressor: Compressor;
  /** A transport plugin's instance. */
  transport: Transport;
  /** A consensus plugin's instance: the factory the consensus slot binds to the application's state machine. */
  consensus: ConsensusEngine;
  /** A probe plugin's instance. */
  probe: Probe;
  /** An extension plugin's instance. */
  extension: Extension;
}

/** The instance a plugin of kind `K` creates. */
export type PluginInstance<K extends PluginKind = PluginKind> = PluginInstances[K];
