/**
 * The one source of what every built-in plugin shares: its version is the
 * core's (they ship together), it works with this core's minor line
 * (`compat.core` is `^<core version>`), and it runs on every runtime unless
 * it names fewer.
 *
 * @module
 */
import { definePlugin, type Plugin, type PluginInstance, type PluginKind } from "../core/loading/plugin.ts";
import { type Runtime, RUNTIMES } from "../core/util/runtime.ts";
import { CORE_VERSION } from "../core/util/version.ts";

/** A built-in plugin as its module declares it: everything but `version` and `compat`, and its runtimes if not all. */
export type BuiltinPluginDeclaration<K extends PluginKind, Options, Instance extends PluginInstance<K>> =
  & Omit<Plugin<K, Options, Instance>, "version" | "compat">
  & {
    /** The runtimes it runs on, when not all of them. */
    runtimes?: readonly Runtime[];
  };

/**
 * A built-in plugin: `definePlugin` with `version` set to the core's,
 * `compat.core` to `^<core version>` and `compat.runtimes` to every runtime
 * (or the ones `declaration.runtimes` names).
 */
export function builtinPlugin<K extends PluginKind, Options, Instance extends PluginInstance<K>>(
  declaration: BuiltinPluginDeclaration<K, Options, Instance>,
): Plugin<K, Options, Instance> {
  const { runtimes = RUNTIMES, ...plugin } = declaration;
  return definePlugin<K, Options, Instance>({
    ...plugin,
    version: CORE_VERSION,
    compat: { core: `^${CORE_VERSION}`, runtimes: [...runtimes] },
  });
}
