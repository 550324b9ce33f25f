/**
 * The plugin compliance suite: the declaration is valid, and `create()`
 * returns an instance meeting its kind's contract; for compressors and
 * probes, the instance then runs that kind's suite.
 *
 * Time: the suite gives the plugin real time (`context.clock` is a
 * `SystemClock`) unless the caller passes a clock, so a plugin that times
 * through `context.clock` (as it should) runs as it does in production. A
 * `ManualClock` passed in is the caller's to advance: the suite never does.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Clock, ManualClock, SystemClock } from "../core/util/clock.ts";
import { instanceIssues } from "../core/contracts/instance_checks.ts";
import { SwitchyardError, ValidationError } from "../core/util/errors.ts";
import { childLogger, type Logger, silentLogger } from "../core/util/logger.ts";
import { MetricsRegistry } from "../core/control/metrics.ts";
import { type HybridConfigInput, resolveConfig } from "../core/control/config.ts";
import type { Capability } from "../core/loading/capability.ts";
import {
  type AnyPlugin,
  type ExtensionContext,
  type Plugin,
  type PluginContext,
  type PluginContextOf,
  type PluginInstance,
  pluginIssues,
  type PluginKind,
} from "../core/loading/plugin.ts";
import type { ExtensionHost } from "../core/control/extension_host.ts";
import { currentRuntime } from "../core/util/runtime.ts";
import type { NetworkSample } from "../core/contracts/sample.ts";
import type { Mode } from "../core/contracts/mode.ts";
import { validateStandard } from "../core/util/standard_schema.ts";
import { closing, type ComplianceCase, withCleanup } from "./case.ts";
import { compressorCompliance } from "./compressor.ts";
import { probeCompliance } from "./probe.ts";

/** Options of {@linkcode createPluginContext}. */
export interface TestContextOptions {
  /** The plugin id. */
  pluginId: string;
  /**
   * The clock. `createPluginContext` and `instantiate` default to a
   * `ManualClock` (advance it yourself); `pluginCompliance` defaults to real
   * time (a `SystemClock`).
   */
  clock?: Clock;
  /** The logger (silent by default). */
  logger?: Logger;
  /**
   * Instances by capability name, for plugins that `require` some. A token
   * naming a kind (e.g. `TRANSPORT_CAPABILITY`) gets its instance checked
   * against that kind's contract, as the loader does.
   */
  provided?: Record<string, unknown>;
  /** What `context.network()` returns (empty by default). */
  network?: NetworkSample;
  /** What `context.linkMode(peer)` returns, by peer (undefined for others, as outside a manager). */
  linkModes?: Record<string, Mode>;
  /** The manager configuration `context.config` resolves (the defaults by default). */
  config?: HybridConfigInput;
  /** The node as extensions see it (a HybridManager will do): needed by extension plugins. */
  host?: ExtensionHost;
}

/**
 * A plugin context for tests, outside the loader; with `host`, an
 * extension's context. Its clock is a `ManualClock` unless `options.clock`
 * is given.
 */
export function createPluginContext(options: TestContextOptions & { host: ExtensionHost }): ExtensionContext;
/** A plugin context for tests, outside the loader. */
export function createPluginContext(options: TestContextOptions): PluginContext;
export function createPluginContext(options: TestContextOptions): PluginContext | ExtensionContext {
  const context: PluginContext = {
    pluginId: options.pluginId,
    clock: options.clock ?? new ManualClock(),
    logger: childLogger(options.logger ?? silentLogger, { plugin: options.pluginId }),
    metrics: new MetricsRegistry().scoped({ plugin: options.pluginId }),
    runtime: currentRuntime(),
    network: () => ({ ...options.network }),
    linkMode: (peer) =>
      options.linkModes && Object.hasOwn(options.linkModes, peer) ? options.linkModes[peer] : undefined,
    config: resolveConfig(options.config),
    require<T>(token: Capability<T>): T {
      const provided = options.provided;
      if (!provided || !Object.hasOwn(provided, token.name)) {
        throw new SwitchyardError("PLUGIN_INVALID", `test context: nothing provides "${token.name}"`);
      }
      const instance = provided[token.name];
      const issues = token.kind === undefined ? [] : instanceIssues(token.kind, instance);
      if (issues.length > 0) {
        const detail = issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
        throw new SwitchyardError("PLUGIN_INVALID", `test context: "${token.name}" is not a ${token.kind}: ${detail}`);
      }
      // Checked against the token's kind above, as the loader checks providers.
      return instance as T;
    },
  };
  return options.host ? { ...context, host: options.host } : context;
}

/**
 * Creates a plugin's instance with validated options and a test context (a
 * `ManualClock` unless `context.clock` is given). The instance is typed by
 * the plugin. Throws `INVALID_ARGUMENT` for options its schema refuses, and
 * `PLUGIN_INVALID` for an extension without `context.host`.
 */
export async function instantiate<K extends PluginKind, Options, Instance extends PluginInstance<K>>(
  plugin: Plugin<K, Options, Instance>,
  options: unknown = {},
  context: Partial<TestContextOptions> = {},
): Promise<Instance> {
  let parsed = options;
  if (plugin.options) {
    const result = await validateStandard(plugin.options, options, "options");
    if (!result.ok) throw new ValidationError("INVALID_ARGUMENT", `${plugin.id} options`, result.issues);
    parsed = result.value;
  }
  if (plugin.kind === "extension" && !context.host) {
    throw new SwitchyardError("PLUGIN_INVALID", `${plugin.id} is an extension: give instantiate a context.host`);
  }
  const made = createPluginContext({ pluginId: plugin.id, ...context });
  return await plugin.create(made as PluginContextOf<K>, parsed as Options);
}

/**
 * The cases every plugin passes: a valid declaration, an instance meeting
 * its kind's contract, and for compressors and probes that kind's suite.
 * `context` supplies what the plugin `require`s (e.g. a transport for a
 * consensus engine, whose behaviour `consensusCompliance` checks), and the
 * host an extension needs. Its clock is real time (a `SystemClock`) unless
 * `context.clock` is given: a plugin timing through `context.clock` runs
 * as in production. Every instance a case creates is closed after it.
 *
 * @example
 * ```ts ignore
 * import plugin from "./mod.ts";
 * import { pluginCompliance, runCompliance } from "@switchyard/hybrid/testing";
 * runCompliance(plugin.id, pluginCompliance(plugin, { host: "127.0.0.1" }));
 * ```
 */
export function pluginCompliance(
  plugin: AnyPlugin,
  options: unknown = {},
  context: Partial<TestContextOptions> = {},
): ComplianceCase[] {
  const timed = { ...context, clock: context.clock ?? new SystemClock() };
  const anyKind: Plugin = plugin;
  const { make, closeAll } = closing(() => instantiate(anyKind, options, timed));
  const cases: ComplianceCase[] = [
    {
      name: "declares itself validly",
      run() {
        assert.deepEqual(pluginIssues(plugin), []);
        return Promise.resolve();
      },
    },
    ...withCleanup([{
      name: `creates an instance meeting the ${plugin.kind} contract`,
      async run() {
        assert.deepEqual(instanceIssues(plugin.kind, await make()), []);
      },
    }], closeAll),
  ];
  if (plugin.kind === "compressor") {
    cases.push(...compressorCompliance(() => instantiate(plugin, options, timed)));
  } else if (plugin.kind === "probe") {
    cases.push(...probeCompliance(() => instantiate(plugin, options, timed)));
  }
  return cases;
}
