/**
 * A {@linkcode ModuleHost} over in-memory files, for loader tests: files live
 * under `file:///virtual/`, imports are real (`data:` URLs and `npm:`).
 *
 * @module
 */
import { integrityOf, type ModuleHost, type ReadFileOptions } from "../../core/loading/loader.ts";
import type { Permission } from "../../core/loading/plugin.ts";
import { currentRuntime, type Runtime } from "../../core/util/runtime.ts";

/** An in-memory host; `files` maps paths under `/virtual/` to text. */
export class MemoryHost implements ModuleHost {
  readonly files = new Map<string, Uint8Array>();
  readonly denied = new Set<Permission>();
  readonly imported: string[] = [];
  runtime: Runtime = currentRuntime();

  /** Adds a file at `path` (relative to `/virtual/`). */
  write(path: string, text: string): this {
    this.files.set(new URL(path, "file:///virtual/").href, new TextEncoder().encode(text));
    return this;
  }

  /** Resolves relative to `/virtual/`. */
  resolve(location: string | URL): URL {
    return new URL(location, "file:///virtual/");
  }

  /** Reads an in-memory file, or fails like a missing file (or one over `options.maxBytes`). */
  readFile(url: URL, options?: ReadFileOptions): Promise<Uint8Array> {
    const bytes = this.files.get(url.href);
    if (!bytes) return Promise.reject(new Error(`ENOENT: no such file ${url.pathname}`));
    if (options && bytes.byteLength > options.maxBytes) {
      return Promise.reject(new Error(`${url.pathname}: ${bytes.byteLength} bytes, more than ${options.maxBytes}`));
    }
    return Promise.resolve(bytes);
  }

  /** Really imports, and remembers what. */
  importModule(specifier: string): Promise<Record<string, unknown>> {
    this.imported.push(specifier.startsWith("data:") ? "data:" : specifier);
    return import(specifier);
  }

  /** Everything is granted unless denied. */
  hasPermission(permission: Permission): boolean {
    return !this.denied.has(permission);
  }
}

/** Writes a plugin module and returns its manifest entry (with the right integrity). */
export async function pluginFile(
  host: MemoryHost,
  path: string,
  source: string,
): Promise<{ module: string; integrity: string }> {
  host.write(path, source);
  const bytes = host.files.get(host.resolve(path).href)!;
  return { module: `./${path}`, integrity: await integrityOf(bytes) };
}

/** Source of a self-contained probe plugin module; `overrides` is spliced into the object literal. */
export function probePluginSource(id: string, overrides = "", rttMs = 1): string {
  return `export default {
  id: ${JSON.stringify(id)},
  version: "1.0.0",
  kind: "probe",
  modes: ["datacenter", "internet", "hybrid"],
  provides: [${JSON.stringify(`probe:${id}`)}],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
  create: () => ({ name: ${JSON.stringify(id)}, measure: () => Promise.resolve({ rttMs: ${rttMs} }) }),
  ${overrides}
};
`;
}
