/**
 * The composition root: builds a {@linkcode HybridManager} from a manifest,
 * with this runtime's module host and Switchyard's built-in plugins unless
 * told otherwise. It lives outside `core/`, which knows neither the runtime
 * nor the built-ins: the loader loads, `assignSlots` turns the plugins into
 * components and probes, the manager is made with them, and the extensions
 * are created last with the manager's {@linkcode ExtensionHost} view.
 *
 * @module
 */
import { SystemClock } from "../core/util/clock.ts";
import { consoleLogger } from "../core/util/logger.ts";
import type { ExtensionHost } from "../core/control/extension_host.ts";
import { HybridManager, type HybridManagerOptions } from "../core/control/manager.ts";
import { MetricsRegistry } from "../core/control/metrics.ts";
import { resolveConfig } from "../core/control/config.ts";
import { type BuiltinModules, loadPlugins, type ModuleHost } from "../core/loading/loader.ts";
import { assignSlots } from "../core/loading/slots.ts";
import { BUILTIN_PLUGINS } from "../plugins/builtin.ts";
import { createHost } from "./host.ts";

/** Options of {@linkcode fromManifest}: the manager's, plus how to load. */
export interface FromManifestOptions extends Omit<HybridManagerOptions, "plugins" | "unavailableModes"> {
  /** Files, imports and permissions; the runtime's own by default. */
  host?: ModuleHost;
  /** The built-in plugins `builtin:` entries may name; Switchyard's own by default. */
  builtins?: BuiltinModules;
  /** Bound of one plugin's `create()` (default 30 s). */
  createTimeoutMs?: number;
  /** Largest manifest or path module read, in bytes (default 16 MiB). */
  maxModuleBytes?: number;
  /** Bound of reading the manifest, and of reading and importing one module (default 30 s). */
  importTimeoutMs?: number;
}

/**
 * Loads the plugins a manifest names and wires them into a new manager: each
 * slot becomes a component (`transport`, `consensus`, `compression`), slot
 * probes join `options.probes`, extensions are created with the manager's
 * {@linkcode ExtensionHost} view. A plugin that fails is recorded in
 * `getStats().plugins`, and the modes whose slot it fills become
 * unavailable: the manager never switches into them. `close()` on the
 * manager closes every plugin. Rejects with `MANIFEST_INVALID` for a
 * manifest that cannot be read or is invalid, and `MODE_UNAVAILABLE` when no
 * mode can be served.
 *
 * @example
 * ```ts ignore
 * import { fromManifest } from "@switchyard/hybrid";
 * const manager = await fromManifest("plugins/manifest.json", { nodeId: "node-1" });
 * console.table(manager.getStats().plugins);
 * await manager.start();
 * // ...
 * await manager.close(); // stops, deactivates, closes every plugin
 * ```
 */
export async function fromManifest(location: string | URL, options: FromManifestOptions = {}): Promise<HybridManager> {
  const clock = options.clock ?? new SystemClock();
  const logger = options.logger ?? consoleLogger("warn");
  const metrics = options.metrics ?? new MetricsRegistry();
  // Plugins may ask for the medians from the start (context.network()); there are none until the manager
  // exists and measures, so until then the answer is empty.
  const medians: { of?: HybridManager } = {};
  const loaded = await loadPlugins(location, {
    host: options.host ?? await createHost(),
    builtins: options.builtins ?? BUILTIN_PLUGINS,
    clock,
    logger,
    metrics,
    network: () => medians.of?.detector.summary() ?? {},
    linkMode: (peer) => medians.of?.linkMode(peer),
    config: resolveConfig(options.config),
    ...(options.createTimeoutMs !== undefined ? { createTimeoutMs: options.createTimeoutMs } : {}),
    ...(options.maxModuleBytes !== undefined ? { maxModuleBytes: options.maxModuleBytes } : {}),
    ...(options.importTimeoutMs !== undefined ? { importTimeoutMs: options.importTimeoutMs } : {}),
  });
  const slots = assignSlots(loaded);
  let manager: HybridManager;
  try {
    const { host: _moduleHost, builtins: _builtins, ...managerOptions } = options;
    manager = new HybridManager({
      ...managerOptions,
      clock,
      logger,
      metrics,
      probes: [...(options.probes ?? []), ...slots.probes],
      unavailableModes: slots.unavailable,
      plugins: loaded,
    });
    for (const component of slots.components) manager.registerComponent(component.name, component.implementations);
  } catch (error) {
    await loaded.close();
    throw error;
  }
  medians.of = manager;
  const host: ExtensionHost = manager;
  await loaded.createExtensions(host);
  return manager;
}
