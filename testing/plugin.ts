/**
 * The plugin compliance suite: the declaration is valid, and `create()`
 * returns an instance meeting its kind's contract; for compressors and
 * probes, the instance then runs that kind's suite.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ManualClock } from "../core/util/clock.ts";
import type { Compressor } from "../core/contracts/compressor.ts";
import { instanceIssues } from "../core/contracts/instance_checks.ts";
import { SwitchyardError, ValidationError } from "../core/util/errors.ts";
import { childLogger, type Logger, silentLogger } from "../core/util/logger.ts";
import { MetricsRegistry } from "../core/control/metrics.ts";
import { type Plugin, type PluginContext, pluginIssues } from "../core/loading/plugin.ts";
import type { Probe } from "../core/contracts/probe.ts";
import type { ExtensionHost } from "../core/control/extension_host.ts";
import { currentRuntime } from "../core/util/runtime.ts";
import type { NetworkSample } from "../core/contracts/sample.ts";
import { validateStandard } from "../core/util/standard_schema.ts";
import type { ComplianceCase } from "./case.ts";
import { compressorCompliance } from "./compressor.ts";
import { probeCompliance } from "./probe.ts";

/** Options of {@linkcode createPluginContext}. */
export interface TestContextOptions {
  /** The plugin id. */
  pluginId: string;
  /** The clock (a ManualClock by default). */
  clock?: PluginContext["clock"];
  /** The logger (silent by default). */
  logger?: Logger;
  /** Instances by capability, for plugins that `require` some. */
  provided?: Record<string, unknown>;
  /** What `context.network()` returns (empty by default). */
  network?: NetworkSample;
  /** The node as extensions see it (a HybridManager will do), for extension plugins. */
  host?: ExtensionHost;
}

/** A plugin context for tests, outside the loader. */
export function createPluginContext(options: TestContextOptions): PluginContext {
  return {
    pluginId: options.pluginId,
    clock: options.clock ?? new ManualClock(),
    logger: childLogger(options.logger ?? silentLogger, { plugin: options.pluginId }),
    metrics: new MetricsRegistry().scoped({ plugin: options.pluginId }),
    runtime: currentRuntime(),
    network: () => ({ ...options.network }),
    ...(options.host ? { host: options.host } : {}),
    require<T>(capability: string): T {
      if (!options.provided || !(capability in options.provided)) {
        throw new SwitchyardError("PLUGIN_INVALID", `test context: nothing provides "${capability}"`);
      }
      return options.provided[capability] as T;
    },
  };
}

/** Creates a plugin's instance with validated options and a test context. */
export async function instantiate<T>(
  plugin: Plugin,
  options: unknown = {},
  context: Partial<TestContextOptions> = {},
): Promise<T> {
  let parsed = options;
  if (plugin.options) {
    const result = await validateStandard(plugin.options, options, "options");
    if (!result.ok) throw new ValidationError("INVALID_ARGUMENT", `${plugin.id} options`, result.issues);
    parsed = result.value;
  }
  return await plugin.create(createPluginContext({ pluginId: plugin.id, ...context }), parsed) as T;
}

/**
 * The cases every plugin passes: a valid declaration, an instance meeting
 * its kind's contract, and for compressors and probes that kind's suite.
 * `context` supplies what the plugin `require`s (e.g. a transport for a
 * consensus engine, whose behaviour `consensusCompliance` checks).
 *
 * @example
 * ```ts ignore
 * import plugin from "./mod.ts";
 * import { pluginCompliance, runCompliance } from "@switchyard/hybrid/testing";
 * runCompliance(plugin.id, pluginCompliance(plugin, { host: "127.0.0.1" }));
 * ```
 */
export function pluginCompliance(
  plugin: Plugin,
  options: unknown = {},
  context: Partial<TestContextOptions> = {},
): ComplianceCase[] {
  const cases: ComplianceCase[] = [
    {
      name: "declares itself validly",
      run() {
        assert.deepEqual(pluginIssues(plugin), []);
        return Promise.resolve();
      },
    },
    {
      name: `creates an instance meeting the ${plugin.kind} contract`,
      async run() {
        const instance = await instantiate(plugin, options, context);
        assert.deepEqual(instanceIssues(plugin.kind, instance), []);
      },
    },
  ];
  if (plugin.kind === "compressor") {
    cases.push(...compressorCompliance(() => instantiate<Compressor>(plugin, options, context)));
  } else if (plugin.kind === "probe") {
    cases.push(...probeCompliance(() => instantiate<Probe>(plugin, options, context)));
  }
  return cases;
}
