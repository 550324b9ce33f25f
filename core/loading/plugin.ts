/**
 * The plugin contract: a plugin is data (what it is, serves, provides,
 * requires, runs on and may touch) plus a factory. The loader validates all
 * of it before calling the factory.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import { type FieldIssue, ValidationError } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { ExtensionHost } from "../control/extension_host.ts";
import type { Metrics } from "../control/metrics.ts";
import { type Mode, MODES } from "../contracts/mode.ts";
import { type Permission, PERMISSIONS, PLUGIN_KINDS, type PluginKind } from "../contracts/plugin_kind.ts";

export { PERMISSIONS, PLUGIN_KINDS };
export type { Permission, PluginKind };
import { type Runtime, RUNTIMES } from "../util/runtime.ts";
import { isValidRange, isVersion } from "../util/semver.ts";
import type { NetworkSample } from "../contracts/sample.ts";
import type { HybridConfig } from "../control/config.ts";
import { isStandardSchema, type StandardSchema } from "../util/standard_schema.ts";
import type { Capability } from "./capability.ts";
import type { Extension, PluginInstance, PluginInstances } from "../contracts/plugin_instance.ts";

export type { Extension, PluginInstance, PluginInstances };

/** What a plugin's factory receives (an extension's also has `host`: {@linkcode ExtensionContext}). */
export interface PluginContext {
  /** The plugin's id. */
  pluginId: string;
  /** The time source; use it for every timer. */
  clock: Clock;
  /** A logger that tags every entry with the plugin id. */
  logger: Logger;
  /** Metrics, labelled with the plugin id. */
  metrics: Metrics;
  /** The runtime this runs on. */
  runtime: Runtime;
  /**
   * The instance providing a capability this plugin declared in `requires`,
   * typed by the token (see `capability()`; e.g. `TRANSPORT_CAPABILITY`
   * yields a `Transport`). Throws `PLUGIN_INVALID` for a capability it did not
   * declare, or when the token names a kind and the provider is of another.
   */
  require<T>(capability: Capability<T>): T;
  /** The manager's latest medians (empty before the first measurement, or outside a manager). */
  network(): NetworkSample;
  /**
   * The mode the link to `peer` (named as the probes name it) serves: the
   * link's own with the manager's `linkModes: "per-peer"`, the node's mode
   * otherwise; undefined outside a manager, or before it exists. A per-link
   * component (a link's compressor or transport) follows it.
   */
  linkMode(peer: string): Mode | undefined;
  /**
   * The manager's configuration, resolved (its thresholds and intervals; the
   * defaults outside a manager): a plugin that classifies measurements, as
   * the adaptive consensus's tally does, uses the same thresholds as the
   * node's detector.
   */
  config: HybridConfig;
}

/**
 * What an `extension` plugin's factory receives: the plugin context and
 * `host`, what an extension may read and do on its node (stats, events,
 * force, resume, detect). Extensions are created once the manager exists.
 */
export interface ExtensionContext extends PluginContext {
  /** The node, as extensions see it. */
  host: ExtensionHost;
}

/** The context a plugin of kind `K` is created with. */
export type PluginContextOf<K extends PluginKind> = K extends "extension" ? ExtensionContext : PluginContext;

/**
 * A plugin: data plus a factory. `K` is its kind, which fixes what `create`
 * must return ({@linkcode PluginInstances}: a compressor plugin creates a
 * `Compressor`, and so on) and what it receives (an extension's context has
 * `host`); `Options` is what its options schema yields; `Instance` may name
 * the kind's contract more precisely (e.g. a transport with its own stats).
 *
 * @example
 * ```ts
 * import { definePlugin } from "./plugin.ts";
 * export default definePlugin({
 *   id: "probe-constant",
 *   version: "1.0.0",
 *   kind: "probe",
 *   modes: ["datacenter", "internet", "hybrid"],
 *   provides: ["probe:constant"],
 *   compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
 *   create: () => ({ name: "constant", measure: () => Promise.resolve({ rttMs: 1 }) }),
 * });
 * ```
 */
export interface Plugin<
  K extends PluginKind = PluginKind,
  Options = unknown,
  Instance extends PluginInstance<K> = PluginInstance<K>,
> {
  /** Unique id: lowercase letters, digits, `-`, optionally `@scope/`. */
  id: string;
  /** The plugin's own version, `MAJOR.MINOR.PATCH`. */
  version: string;
  /** Which contract the instance meets. */
  kind: K;
  /** The modes it serves. */
  modes: readonly Mode[];
  /** Capabilities it provides, e.g. `"compressor:lz4"`. */
  provides: readonly string[];
  /** Capabilities it needs from other plugins; they are created first. */
  requires?: readonly string[];
  /** The core versions (a semver range) and runtimes it works with. */
  compat: { core: string; runtimes: readonly Runtime[] };
  /** What it may touch (net, ffi, read, ...). */
  permissions?: readonly Permission[];
  /** One line for humans. */
  description?: string;
  /** Schema of its options (any Standard Schema, e.g. valibot); the manifest's `options` are validated with it. */
  options?: StandardSchema<unknown, Options>;
  /** Creates the instance. */
  create(context: PluginContextOf<K>, options: Options): Instance | Promise<Instance>;
}

/** Any plugin, as a union by kind: testing `kind` narrows it, and with it what `create` returns. */
export type AnyPlugin = { [K in PluginKind]: Plugin<K, unknown, PluginInstance<K>> }[PluginKind];

const ID = /^(@[a-z0-9][a-z0-9-]*\/)?[a-z0-9][a-z0-9-]*$/;
const CAPABILITY = /^[a-z0-9][a-z0-9:._\/-]*$/;

function listIssues<T extends string>(
  value: unknown,
  path: string,
  allowed: readonly T[] | RegExp,
  required: boolean,
): FieldIssue[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value)) return [{ path, message: "must be an array" }];
  const issues: FieldIssue[] = [];
  value.forEach((item, index) => {
    const ok = typeof item === "string" &&
      (Array.isArray(allowed) ? allowed.includes(item as T) : (allowed as RegExp).test(item));
    if (!ok) {
      issues.push({
        path: `${path}.${index}`,
        message: Array.isArray(allowed)
          ? `must be one of ${allowed.join(", ")}, got ${JSON.stringify(item)}`
          : `must match ${allowed}, got ${JSON.stringify(item)}`,
      });
    }
  });
  return issues;
}

/** Everything wrong with a would-be plugin, each issue with its field path. */
export function pluginIssues(value: unknown): FieldIssue[] {
  if (typeof value !== "object" || value === null) return [{ path: "", message: "must be a plugin object" }];
  const plugin = value as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  if (typeof plugin.id !== "string" || !ID.test(plugin.id)) {
    issues.push({ path: "id", message: `must match ${ID}, got ${JSON.stringify(plugin.id)}` });
  }
  if (typeof plugin.version !== "string" || !isVersion(plugin.version)) {
    issues.push({ path: "version", message: `must be a version like 1.2.3, got ${JSON.stringify(plugin.version)}` });
  }
  if (!PLUGIN_KINDS.includes(plugin.kind as PluginKind)) {
    issues.push({
      path: "kind",
      message: `must be one of ${PLUGIN_KINDS.join(", ")}, got ${JSON.stringify(plugin.kind)}`,
    });
  }
  issues.push(...listIssues(plugin.modes, "modes", MODES, true));
  if (Array.isArray(plugin.modes) && plugin.modes.length === 0) {
    issues.push({ path: "modes", message: "must name at least one mode" });
  }
  issues.push(...listIssues(plugin.provides, "provides", CAPABILITY, true));
  issues.push(...listIssues(plugin.requires, "requires", CAPABILITY, false));
  issues.push(...listIssues(plugin.permissions, "permissions", PERMISSIONS, false));
  const compat = plugin.compat as Record<string, unknown> | undefined;
  if (typeof compat !== "object" || compat === null) {
    issues.push({ path: "compat", message: "must be { core: semver range, runtimes: [...] }" });
  } else {
    if (typeof compat.core !== "string" || !isValidRange(compat.core)) {
      issues.push({ path: "compat.core", message: `must be a semver range, got ${JSON.stringify(compat.core)}` });
    }
    issues.push(...listIssues(compat.runtimes, "compat.runtimes", RUNTIMES, true));
  }
  if (plugin.options !== undefined && !isStandardSchema(plugin.options)) {
    issues.push({ path: "options", message: "must be a Standard Schema (e.g. a valibot schema)" });
  }
  if (typeof plugin.create !== "function") issues.push({ path: "create", message: "must be a function" });
  if (plugin.description !== undefined && typeof plugin.description !== "string") {
    issues.push({ path: "description", message: "must be a string" });
  }
  return issues;
}

/**
 * Checks a plugin definition and returns it frozen. Throws a
 * {@linkcode ValidationError} (code `PLUGIN_INVALID`) naming every bad field.
 * Plugin modules export the result as their default export. At compile
 * time, `kind` decides what `create` must return and receives (see
 * {@linkcode Plugin}).
 */
export function definePlugin<K extends PluginKind, Options, Instance extends PluginInstance<K>>(
  plugin: Plugin<K, Options, Instance>,
): Plugin<K, Options, Instance> {
  const issues = pluginIssues(plugin);
  if (issues.length > 0) {
    const id = typeof plugin?.id === "string" ? plugin.id : "(no id)";
    throw new ValidationError("PLUGIN_INVALID", `plugin ${id}`, issues);
  }
  return Object.freeze({ ...plugin });
}
