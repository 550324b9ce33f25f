/**
 * What the manager reports about the plugins it owns: each manifest entry's
 * outcome, and the handle that closes them. The loader fills these in; the
 * manager only reports and closes, so it needs nothing of the loader.
 *
 * @module
 */
import type { Mode } from "../contracts/mode.ts";
import type { PluginKind } from "../contracts/plugin_kind.ts";

/** Where loading a plugin stopped. */
export type PluginStage =
  | "import"
  | "integrity"
  | "validate"
  | "compat"
  | "permissions"
  | "options"
  | "dependencies"
  | "create"
  | "contract";

/** One plugin's outcome, as `getStats().plugins` reports it. */
export interface PluginRecord {
  /** The manifest entry's id. */
  id: string;
  /** The manifest entry's module. */
  module: string;
  /** `loaded`, `failed` (see `stage` and `reason`) or `disabled`. */
  state: "pending" | "loaded" | "failed" | "disabled";
  /** The plugin's version, once known. */
  version?: string;
  /** The plugin's kind, once known. */
  kind?: PluginKind;
  /** The modes it serves, once known. */
  modes?: Mode[];
  /** Its capabilities, once known. */
  provides?: string[];
  /** What it needs, once known. */
  requires?: string[];
  /** Where it failed. */
  stage?: PluginStage;
  /** Why it failed or is disabled. */
  reason?: string;
}

/** A plugin set a manager owns: reported in its stats, closed by its `close()`. */
export interface OwnedPlugins {
  /** Every entry's outcome, in manifest order. */
  records(): PluginRecord[];
  /** Calls `close()` on every instance that has one, in reverse creation order. */
  close(): Promise<void>;
}
