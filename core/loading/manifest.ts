/**
 * The plugin manifest: which plugins to load, from where, with which options,
 * and which plugin fills which component slot in each mode.
 *
 * ```json
 * {
 *   "plugins": [
 *     { "id": "compress-none", "module": "builtin:compress-none" },
 *     { "id": "my-probe", "module": "./my_probe.ts", "integrity": "sha384-…", "options": { "host": "10.0.0.2" } }
 *   ],
 *   "slots": {
 *     "compression": { "datacenter": "compress-none", "internet": "compress-none", "hybrid": "compress-none" },
 *     "probes": ["my-probe"]
 *   }
 * }
 * ```
 *
 * @module
 */
import * as v from "valibot";
import { type FieldIssue, ValidationError } from "../util/errors.ts";
import type { PluginKind } from "./plugin.ts";
import { NPM_NAME_MAX_LENGTH, NPM_SPECIFIER_PATTERN, npmSpecifierProblem } from "./npm_specifier.ts";
import { toFieldIssues } from "../util/validation.ts";

const NPM_SPECIFIER = new RegExp(`^${NPM_SPECIFIER_PATTERN}$`);
const PLUGIN_ID = /^(@[a-z0-9][a-z0-9-]*\/)?[a-z0-9][a-z0-9-]*$/;
const pluginId = v.pipe(v.string(), v.regex(PLUGIN_ID, "must be a plugin id (lowercase letters, digits, -)"));
const perModeSlot = v.strictObject({ datacenter: pluginId, internet: pluginId, hybrid: pluginId });

const ManifestEntrySchema = v.strictObject({
  id: pluginId,
  module: v.pipe(
    v.string(),
    v.regex(
      new RegExp(`^(builtin:[a-z0-9-]+|${NPM_SPECIFIER_PATTERN}|\\.{1,2}\\/\\S+)$`),
      'must be "builtin:<id>", "npm:<package>[@<range>][/<subpath>]" with a valid npm package name ' +
        "(no path or URL after npm:), or a path starting with ./ or ../",
    ),
    // What the pattern cannot say: the package name's length (reported only when the pattern holds).
    v.check(
      (module) => !NPM_SPECIFIER.test(module) || npmSpecifierProblem(module) === undefined,
      `must name an npm package of at most ${NPM_NAME_MAX_LENGTH} characters`,
    ),
  ),
  integrity: v.optional(v.pipe(v.string(), v.regex(/^sha384-[A-Za-z0-9+/]{64}$/, "must be sha384-<base64 digest>"))),
  options: v.optional(v.record(v.string(), v.unknown())),
  enabled: v.optional(v.boolean(), true),
  uses: v.optional(v.record(v.pipe(v.string(), v.minLength(1)), pluginId)),
});

const ManifestSchemaObject = v.strictObject({
  $schema: v.optional(v.string()),
  plugins: v.array(ManifestEntrySchema),
  slots: v.optional(
    v.strictObject({
      transport: v.optional(perModeSlot),
      consensus: v.optional(perModeSlot),
      compression: v.optional(perModeSlot),
      probes: v.optional(v.array(pluginId)),
    }),
    {},
  ),
});

/** One plugin entry of a manifest. */
export interface ManifestEntry {
  /** The plugin's id; must equal the id the module declares. */
  id: string;
  /**
   * `builtin:<id>`, `npm:<package>[@<range>][/<subpath>]` (a valid npm package name; no path or URL), or a path
   * relative to the manifest (needs `integrity`).
   */
  module: string;
  /** `sha384-<base64>` of the module file; required for path modules. */
  integrity?: string;
  /** Options passed to the plugin, validated with its schema. */
  options?: Record<string, unknown>;
  /** False: listed but not loaded. */
  enabled: boolean;
  /**
   * Which plugin provides a capability this plugin requires, by capability
   * (e.g. `{ "transport": "transport-links" }`), where the first provider in
   * manifest order is not the one wanted. The named plugin must provide it.
   */
  uses?: Record<string, string>;
}

/** The slots the core knows, per mode for components. */
export interface ManifestSlots {
  /** The transport component, per mode. */
  transport?: { datacenter: string; internet: string; hybrid: string };
  /** The consensus component, per mode. */
  consensus?: { datacenter: string; internet: string; hybrid: string };
  /** The compression component, per mode. */
  compression?: { datacenter: string; internet: string; hybrid: string };
  /** Probes measured in every mode. */
  probes?: string[];
}

/** A validated manifest. */
export interface Manifest {
  /** An optional JSON Schema reference for editors. */
  $schema?: string;
  /** The plugins. */
  plugins: ManifestEntry[];
  /** The slot table. */
  slots: ManifestSlots;
}

/** The component slots and the plugin kind each needs. */
export const SLOT_KINDS: Readonly<Record<"transport" | "consensus" | "compression", PluginKind>> = {
  transport: "transport",
  consensus: "consensus",
  compression: "compressor",
};

function crossIssues(manifest: Manifest): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const ids = new Map<string, number>();
  manifest.plugins.forEach((entry, index) => {
    if (ids.has(entry.id)) {
      issues.push({ path: `plugins.${index}.id`, message: `"${entry.id}" is also entry ${ids.get(entry.id)}` });
    } else ids.set(entry.id, index);
    if (/^\.{1,2}\//.test(entry.module) && !entry.integrity) {
      issues.push({
        path: `plugins.${index}.integrity`,
        message:
          `is required for a path module (entry "${entry.id}"); compute it with \`deno task plugin:integrity ${entry.module}\``,
      });
    }
  });
  for (const slot of ["transport", "consensus", "compression"] as const) {
    const table = manifest.slots[slot];
    if (!table) continue;
    for (const [mode, id] of Object.entries(table)) {
      if (!ids.has(id)) {
        issues.push({ path: `slots.${slot}.${mode}`, message: `names "${id}", which no entry declares` });
      }
    }
  }
  manifest.slots.probes?.forEach((id, index) => {
    if (!ids.has(id)) issues.push({ path: `slots.probes.${index}`, message: `names "${id}", which no entry declares` });
  });
  return issues;
}

/**
 * Parses manifest text. Throws a {@linkcode ValidationError} (code
 * `MANIFEST_INVALID`) naming the file, and for each problem the field path
 * (e.g. `plugins.2.module`) and the entry it belongs to.
 *
 * @example
 * ```ts
 * import { parseManifest } from "./manifest.ts";
 * const manifest = parseManifest('{"plugins":[{"id":"compress-none","module":"builtin:compress-none"}]}', "inline");
 * manifest.plugins[0].enabled; // true
 * ```
 */
export function parseManifest(text: string, source: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError("MANIFEST_INVALID", `manifest ${source}`, [
      { path: "", message: `is not valid JSON: ${(error as Error).message}` },
    ]);
  }
  const result = v.safeParse(ManifestSchemaObject, json, { abortEarly: false });
  const issues = result.success ? crossIssues(result.output as Manifest) : toFieldIssues(result.issues);
  if (issues.length > 0) {
    const entries = (json as { plugins?: { id?: unknown }[] } | null)?.plugins;
    const named = issues.map((issue) => {
      const index = /^plugins\.(\d+)/.exec(issue.path)?.[1];
      const id = index !== undefined && Array.isArray(entries) ? entries[Number(index)]?.id : undefined;
      return typeof id === "string" && !issue.message.includes(`"${id}"`)
        ? { ...issue, message: `${issue.message} (entry "${id}")` }
        : issue;
    });
    throw new ValidationError("MANIFEST_INVALID", `manifest ${source}`, named);
  }
  return (result as { output: Manifest }).output;
}

/** The manifest's valibot schema, for tools that generate JSON Schema from it. */
export const manifestSchema: unknown = ManifestSchemaObject;
