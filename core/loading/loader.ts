/**
 * The plugin loader: reads and validates a manifest, imports exactly the
 * modules it names (integrity-checked bytes for path modules), checks each
 * plugin's declaration, compatibility, permissions and options, resolves
 * `requires` against `provides`, and creates instances in dependency order.
 * A plugin that fails at any stage is recorded with its stage and reason;
 * nothing thrown by a plugin escapes.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../util/clock.ts";
import { instanceIssues } from "../contracts/instance_checks.ts";
import { SwitchyardError, toError, ValidationError } from "../util/errors.ts";
import { childLogger, type Logger } from "../util/logger.ts";
import type { ExtensionHost } from "../control/extension_host.ts";
import type { OwnedPlugins, PluginRecord, PluginStage } from "../control/plugin_status.ts";
import { type Manifest, type ManifestEntry, parseManifest } from "./manifest.ts";
import { parseNpmSpecifier } from "./npm_specifier.ts";
import type { Metrics } from "../control/metrics.ts";
import type { Capability } from "./capability.ts";
import { type ExtensionContext, type Permission, type Plugin, type PluginContext, pluginIssues } from "./plugin.ts";
import type { Runtime } from "../util/runtime.ts";
import type { NetworkSample } from "../contracts/sample.ts";
import type { Mode } from "../contracts/mode.ts";
import { type HybridConfig, resolveConfig } from "../control/config.ts";
import { satisfies } from "../util/semver.ts";
import { validateStandard } from "../util/standard_schema.ts";
import { runWithTimeout } from "../util/timeout.ts";
import { parseOrThrow } from "../util/validation.ts";
import { CORE_VERSION } from "../util/version.ts";

export type { PluginRecord, PluginStage };
/** What the loader needs from the runtime: files, imports, permissions. */
export interface ModuleHost {
  /** The runtime. */
  readonly runtime: Runtime;
  /** Turns a manifest location (a path relative to the working directory, or a URL) into a URL. */
  resolve(location: string | URL): URL;
  /**
   * Reads a file's bytes: a regular file only (refuse FIFOs, devices and
   * directories, also behind a symlink), of at most `options.maxBytes`,
   * abandoned when `options.signal` aborts.
   */
  readFile(url: URL, options: ReadFileOptions): Promise<Uint8Array>;
  /** Imports a module by specifier (`npm:…` or a `data:` URL). */
  importModule(specifier: string): Promise<Record<string, unknown>>;
  /** Whether the process has `permission` (always true where the runtime has no permission model). */
  hasPermission(permission: Permission): boolean;
}

/** Bounds of {@linkcode ModuleHost.readFile}. */
export interface ReadFileOptions {
  /** Refuse a file larger than this. */
  maxBytes: number;
  /** Aborted when the loader's `importTimeoutMs` runs out. */
  signal?: AbortSignal;
}

/** Built-in plugin modules by id, each a literal dynamic import. */
export type BuiltinModules = Readonly<Record<string, () => Promise<Record<string, unknown>>>>;

/** Options of {@linkcode loadPlugins}. */
export interface LoaderOptions {
  /** Files, imports and permissions. */
  host: ModuleHost;
  /** The built-in plugins `builtin:` entries may name. */
  builtins?: BuiltinModules;
  /** Given to plugins. */
  clock: Clock;
  /** Parent of each plugin's logger. */
  logger: Logger;
  /** Given to plugins, scoped by plugin id. */
  metrics: Metrics;
  /** The core version to check `compat.core` against (default: this core's). */
  coreVersion?: string;
  /** Bound of one `create()` (default 30 s). */
  createTimeoutMs?: number;
  /** Largest manifest or path module read, in bytes (default 16 MiB, at most 1 GiB). */
  maxModuleBytes?: number;
  /** Bound of reading the manifest, and of reading and importing one module (default 30 s). */
  importTimeoutMs?: number;
  /** The latest medians, given to plugins as `context.network()`. */
  network?: () => NetworkSample;
  /** The manager's configuration, given to plugins as `context.config` (default: the defaults). */
  config?: HybridConfig;
  /** The mode of the link to a peer, given to plugins as `context.linkMode()`. */
  linkMode?: (peer: string) => Mode | undefined;
}

/** The loaded plugin set. */
export interface LoadedPlugins extends OwnedPlugins {
  /** Where the manifest came from. */
  readonly source: string;
  /** The validated manifest. */
  readonly manifest: Manifest;
  /** The instance of a loaded plugin, or undefined. */
  instance<T>(id: string): T | undefined;
  /** Creates the `extension` plugins, handing them `host` (the manager, narrowed). */
  createExtensions(host: ExtensionHost): Promise<void>;
}

/** The bounds of the import stage, validated from {@linkcode LoaderOptions}. */
const ImportLimits = v.object({
  maxModuleBytes: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1024 * 1024 * 1024)),
    16 * 1024 * 1024,
  ),
  importTimeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 30_000),
});

/** Why a plugin failed at `stage`; caught and recorded, never thrown out of the loader. */
class PluginFailure extends SwitchyardError {
  constructor(readonly stage: PluginStage, message: string) {
    super("PLUGIN_FAILED", message);
    this.name = "PluginFailure";
  }
}

interface Candidate {
  index: number;
  entry: ManifestEntry;
  record: PluginRecord;
  plugin: Plugin;
  options: unknown;
  /** Chosen provider id per required capability. */
  providers: Map<string, string>;
}

const MEDIA_TYPES: Record<string, string> = {
  ".ts": "application/typescript",
  ".mts": "application/typescript",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
};

/** `sha384-<base64>` of `bytes`, the form manifests use. */
export async function integrityOf(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", bytes as Uint8Array<ArrayBuffer>));
  return `sha384-${toBase64(digest)}`;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * `npm:pkg@1.2/sub` → `pkg/sub`, for runtimes that resolve bare specifiers
 * from node_modules. Throws a `ValidationError` (`PLUGIN_INVALID`, field
 * `module`) for anything but a valid npm package name with an optional range
 * and subpath (see `npm_specifier.ts`): a path or URL after `npm:` would
 * become a bare specifier that loads a local file with no integrity check.
 */
export function npmToBare(specifier: string): string {
  const { name, subpath } = parseNpmSpecifier(specifier, "module");
  return name + subpath;
}

/**
 * Loads the manifest at `location` and every plugin it names (extensions
 * are created later, by `createExtensions`). Throws only for a manifest that
 * cannot be read or is invalid (`MANIFEST_INVALID`, naming the file, entry and
 * field); plugin failures are returned as records.
 *
 * @example
 * ```ts ignore
 * import { loadPlugins } from "./loader.ts";
 * const loaded = await loadPlugins("plugins/manifest.json", { host, builtins, clock, logger, metrics });
 * for (const record of loaded.records()) console.log(record.id, record.state, record.reason ?? "");
 * ```
 */
export async function loadPlugins(location: string | URL, options: LoaderOptions): Promise<LoadedPlugins> {
  const { host } = options;
  const limits = parseOrThrow(
    ImportLimits,
    { maxModuleBytes: options.maxModuleBytes, importTimeoutMs: options.importTimeoutMs },
    "loader options",
  );
  const url = host.resolve(location);
  const source = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  let text: string;
  try {
    const read = await runWithTimeout(
      options.clock,
      limits.importTimeoutMs,
      (signal) => readBounded(host, url, limits.maxModuleBytes, signal),
    );
    if (read.timedOut) {
      throw new SwitchyardError(
        "MANIFEST_INVALID",
        `reading did not finish within ${limits.importTimeoutMs} ms (importTimeoutMs)`,
      );
    }
    text = new TextDecoder().decode(read.value);
  } catch (error) {
    throw new SwitchyardError("MANIFEST_INVALID", `manifest ${source} cannot be read: ${toError(error).message}`);
  }
  const manifest = parseManifest(text, source);
  const log = options.logger;
  const records: PluginRecord[] = manifest.plugins.map((entry) => ({
    id: entry.id,
    module: entry.module,
    state: entry.enabled ? "pending" : "disabled",
    ...(entry.enabled ? {} : { reason: "disabled in the manifest" }),
  }));
  const fail = (record: PluginRecord, stage: PluginStage, reason: string) => {
    record.state = "failed";
    record.stage = stage;
    record.reason = reason;
    log.error(`plugin "${record.id}" failed (${stage}): ${reason}`);
    options.metrics.increment("switchyard_plugin_failures_total", "Plugins that failed to load.", {
      plugin: record.id,
      stage,
    });
  };

  const candidates = new Map<string, Candidate>();
  await Promise.all(manifest.plugins.map(async (entry, index) => {
    const record = records[index];
    if (!entry.enabled) return;
    try {
      const candidate = await prepare(entry, index, record, url, options, limits);
      candidates.set(entry.id, candidate);
    } catch (error) {
      if (error instanceof PluginFailure) fail(record, error.stage, error.message);
      else fail(record, "import", toError(error).message);
    }
  }));

  resolveDependencies(manifest, candidates, (candidate, reason) => {
    candidates.delete(candidate.entry.id);
    fail(candidate.record, "dependencies", reason);
  });

  const instances = new Map<string, unknown>();
  const created: string[] = [];
  const order = topologicalOrder(manifest, candidates);
  const create = async (candidate: Candidate, extensionHost?: ExtensionHost) => {
    const { plugin, record, entry } = candidate;
    for (const providerId of candidate.providers.values()) {
      if (!instances.has(providerId)) {
        return fail(record, "dependencies", `its dependency "${providerId}" did not load`);
      }
    }
    const base: PluginContext = {
      pluginId: plugin.id,
      clock: options.clock,
      logger: childLogger(options.logger, { plugin: plugin.id }),
      metrics: options.metrics.scoped({ plugin: plugin.id }),
      runtime: host.runtime,
      network: () => options.network?.() ?? {},
      linkMode: (peer) => options.linkMode?.(peer),
      config: options.config ?? resolveConfig(),
      require: <T>(token: Capability<T>): T => {
        const providerId = candidate.providers.get(token.name);
        if (providerId === undefined) {
          throw new SwitchyardError(
            "PLUGIN_INVALID",
            `plugin "${plugin.id}" asked for "${token.name}", which it does not declare in requires`,
          );
        }
        const providerKind = candidates.get(providerId)?.plugin.kind;
        if (token.kind !== undefined && providerKind !== token.kind) {
          throw new SwitchyardError(
            "PLUGIN_INVALID",
            `plugin "${plugin.id}" asked for "${token.name}" as a ${token.kind}, but its provider "${providerId}" ` +
              `is a ${providerKind}`,
          );
        }
        // The provider's instance passed its kind's contract check when it was created.
        return instances.get(providerId) as T;
      },
    };
    // Extensions, and only they, are created with the host.
    const context: PluginContext | ExtensionContext = extensionHost ? { ...base, host: extensionHost } : base;
    try {
      const timeoutMs = options.createTimeoutMs ?? 30_000;
      const result = await runWithTimeout(options.clock, timeoutMs, () => plugin.create(context, candidate.options));
      if (result.timedOut) return fail(record, "create", `create() did not finish within ${timeoutMs} ms`);
      const issues = instanceIssues(plugin.kind, result.value);
      if (issues.length > 0) {
        return fail(record, "contract", issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "));
      }
      instances.set(entry.id, result.value);
      created.push(entry.id);
      record.state = "loaded";
      log.info(`plugin "${entry.id}" ${plugin.version} loaded`, { kind: plugin.kind });
    } catch (error) {
      fail(record, "create", `create() threw: ${toError(error).message}`);
    }
  };
  for (const id of order) {
    const candidate = candidates.get(id)!;
    if (candidate.plugin.kind !== "extension") await create(candidate);
  }

  return {
    source,
    manifest,
    records: () => records.map((record) => ({ ...record })),
    instance: <T>(id: string) => instances.get(id) as T | undefined,
    createExtensions: async (extensionHost) => {
      for (const id of order) {
        const candidate = candidates.get(id)!;
        if (candidate.plugin.kind === "extension" && candidate.record.state === "pending") {
          await create(candidate, extensionHost);
        }
      }
    },
    close: async () => {
      for (const id of [...created].reverse()) {
        const instance = instances.get(id) as { close?: () => unknown } | undefined;
        if (typeof instance?.close !== "function") continue;
        try {
          await instance.close();
        } catch (error) {
          log.warn(`plugin "${id}" close() failed`, { error: toError(error).message });
        }
      }
    },
  };
}

async function prepare(
  entry: ManifestEntry,
  index: number,
  record: PluginRecord,
  manifestUrl: URL,
  options: LoaderOptions,
  limits: v.InferOutput<typeof ImportLimits>,
): Promise<Candidate> {
  const imported = await runWithTimeout(
    options.clock,
    limits.importTimeoutMs,
    (signal) => importEntry(entry, index, manifestUrl, options, limits.maxModuleBytes, signal),
  );
  if (imported.timedOut) {
    throw new PluginFailure(
      "import",
      `${entry.module} was not read and imported within ${limits.importTimeoutMs} ms (importTimeoutMs)`,
    );
  }
  const exports = imported.value;
  const plugin = (exports.default ?? exports.plugin) as Plugin | undefined;
  const issues = pluginIssues(plugin);
  if (issues.length > 0) {
    const detail = issues.map((issue) => `${issue.path || "(root)"} ${issue.message}`).join("; ");
    throw new PluginFailure("validate", `the module's default export is not a valid plugin: ${detail}`);
  }
  const valid = plugin as Plugin;
  Object.assign(record, {
    version: valid.version,
    kind: valid.kind,
    modes: [...valid.modes],
    provides: [...valid.provides],
    requires: [...(valid.requires ?? [])],
  });
  if (valid.id !== entry.id) {
    throw new PluginFailure(
      "validate",
      `the module declares id "${valid.id}", but the manifest entry is "${entry.id}"`,
    );
  }
  const coreVersion = options.coreVersion ?? CORE_VERSION;
  if (!satisfies(coreVersion, valid.compat.core)) {
    throw new PluginFailure("compat", `needs core ${valid.compat.core}, but this core is ${coreVersion}`);
  }
  if (!valid.compat.runtimes.includes(options.host.runtime)) {
    throw new PluginFailure(
      "compat",
      `runs on ${valid.compat.runtimes.join(", ")}, not on ${options.host.runtime}`,
    );
  }
  const missing = (valid.permissions ?? []).filter((permission) => !options.host.hasPermission(permission));
  if (missing.length > 0) {
    throw new PluginFailure(
      "permissions",
      `needs permission ${missing.join(", ")} (run with ${missing.map((p) => `--allow-${p}`).join(" ")})`,
    );
  }
  let pluginOptions: unknown = entry.options ?? {};
  if (valid.options) {
    const result = await validateStandard(valid.options, pluginOptions, `plugins.${index}.options`);
    if (!result.ok) {
      throw new PluginFailure("options", result.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "));
    }
    pluginOptions = result.value;
  } else if (Object.keys(entry.options ?? {}).length > 0) {
    throw new PluginFailure("options", `plugins.${index}.options: this plugin takes no options`);
  }
  return { index, entry, record, plugin: valid, options: pluginOptions, providers: new Map() };
}

async function importEntry(
  entry: ManifestEntry,
  index: number,
  manifestUrl: URL,
  options: LoaderOptions,
  maxModuleBytes: number,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const { host } = options;
  if (entry.module.startsWith("builtin:")) {
    const name = entry.module.slice("builtin:".length);
    const load = options.builtins?.[name];
    if (!load) {
      const known = Object.keys(options.builtins ?? {}).join(", ") || "none";
      throw new PluginFailure("import", `no built-in plugin "${name}" (built-ins: ${known})`);
    }
    return await load();
  }
  if (entry.module.startsWith("npm:")) {
    // Checked again here, before anything is imported, whatever the manifest schema let through.
    let specifier: string;
    try {
      const { name, subpath } = parseNpmSpecifier(entry.module, `plugins.${index}.module`);
      specifier = host.runtime === "deno" ? entry.module : name + subpath;
    } catch (error) {
      const issues = error instanceof ValidationError ? error.issues : [];
      const detail = issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
      throw new PluginFailure("import", `refused before importing (PLUGIN_INVALID): ${detail}`);
    }
    try {
      return await host.importModule(specifier);
    } catch (error) {
      throw new PluginFailure("import", `cannot import ${specifier}: ${toError(error).message}`);
    }
  }
  const moduleUrl = new URL(entry.module, manifestUrl);
  const extension = /\.[a-z]+$/.exec(moduleUrl.pathname)?.[0] ?? "";
  const mediaType = MEDIA_TYPES[extension];
  if (!mediaType) {
    throw new PluginFailure("import", `${entry.module}: unsupported module type "${extension}" (use .ts or .js)`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(host, moduleUrl, maxModuleBytes, signal);
  } catch (error) {
    throw new PluginFailure("import", `cannot read module ${moduleUrl.pathname}: ${toError(error).message}`);
  }
  const actual = await integrityOf(bytes);
  if (actual !== entry.integrity) {
    throw new PluginFailure(
      "integrity",
      `${entry.module} does not match its integrity: the manifest says ${entry.integrity}, the file is ${actual}`,
    );
  }
  // Import the very bytes that were hashed, so the file cannot change in between.
  try {
    return await host.importModule(`data:${mediaType};base64,${toBase64(bytes)}`);
  } catch (error) {
    throw new PluginFailure(
      "import",
      `${entry.module} failed to evaluate: ${toError(error).message} ` +
        "(a path plugin must be one self-contained module; bundle its relative imports)",
    );
  }
}

/** Reads through the host, and checks the bound again for hosts that do not keep it. */
async function readBounded(host: ModuleHost, url: URL, maxBytes: number, signal: AbortSignal): Promise<Uint8Array> {
  const bytes = await host.readFile(url, { maxBytes, signal });
  if (bytes.byteLength > maxBytes) {
    throw new SwitchyardError(
      "FILE_TOO_LARGE",
      `${bytes.byteLength} bytes, more than the ${maxBytes}-byte limit (maxModuleBytes)`,
    );
  }
  return bytes;
}

function resolveDependencies(
  manifest: Manifest,
  candidates: Map<string, Candidate>,
  reject: (candidate: Candidate, reason: string) => void,
): void {
  const manifestOrder = manifest.plugins.map((entry) => entry.id);
  for (let changed = true; changed;) {
    changed = false;
    for (const candidate of [...candidates.values()]) {
      candidate.providers.clear();
      const unknownUse = Object.keys(candidate.entry.uses ?? {}).find((name) =>
        !(candidate.plugin.requires ?? []).includes(name)
      );
      if (unknownUse !== undefined) {
        reject(candidate, `uses a provider for "${unknownUse}", which it does not require`);
        changed = true;
        continue;
      }
      for (const capability of candidate.plugin.requires ?? []) {
        const chosen = candidate.entry.uses && Object.hasOwn(candidate.entry.uses, capability)
          ? candidate.entry.uses[capability]
          : undefined;
        const providers = manifestOrder.filter((id) => {
          const other = candidates.get(id);
          if (!other || id === candidate.entry.id || !other.plugin.provides.includes(capability)) return false;
          if (chosen !== undefined && id !== chosen) return false;
          return candidate.plugin.kind === "extension" || other.plugin.kind !== "extension";
        });
        if (providers.length === 0) {
          reject(
            candidate,
            chosen === undefined
              ? `requires "${capability}", which no loadable plugin provides`
              : `uses "${chosen}" for "${capability}", which is not a loadable plugin providing it`,
          );
          changed = true;
          break;
        }
        candidate.providers.set(capability, providers[0]);
      }
    }
    if (changed) continue;
    const cycle = findCycle(manifestOrder, candidates);
    if (cycle) {
      const path = [...cycle, cycle[0]].map((id) => `"${id}"`).join(" -> ");
      for (const id of cycle) reject(candidates.get(id)!, `dependency cycle: ${path}`);
      changed = true;
    }
  }
}

function findCycle(order: string[], candidates: Map<string, Candidate>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return stack.slice(stack.indexOf(id));
    state.set(id, "visiting");
    stack.push(id);
    for (const next of candidates.get(id)?.providers.values() ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const id of order) {
    if (!candidates.has(id)) continue;
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return undefined;
}

function topologicalOrder(manifest: Manifest, candidates: Map<string, Candidate>): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  const place = (id: string) => {
    if (placed.has(id)) return;
    placed.add(id);
    for (const dependency of candidates.get(id)?.providers.values() ?? []) place(dependency);
    order.push(id);
  };
  for (const entry of manifest.plugins) if (candidates.has(entry.id)) place(entry.id);
  return order;
}
