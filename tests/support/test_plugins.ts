/**
 * In-process plugins with chosen behaviours, served as built-ins to the loader.
 *
 * @module
 */
import type { Compressor } from "../../core/contracts/compressor.ts";
import type { BuiltinModules } from "../../core/loading/loader.ts";
import type { Mode } from "../../core/contracts/mode.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";

const ALL: Mode[] = ["datacenter", "internet", "hybrid"];

/** A plugin definition with sensible defaults. */
export function testPlugin(overrides: Partial<Plugin> & Pick<Plugin, "id">): Plugin {
  return {
    version: "1.0.0",
    kind: "extension",
    modes: ALL,
    provides: [`cap:${overrides.id}`],
    compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
    create: () => ({ id: overrides.id }),
    ...overrides,
  };
}

/** A compressor plugin whose instance records its lifecycle. */
export function compressorPlugin(id: string, log: string[] = [], fail?: string): Plugin {
  return testPlugin({
    id,
    kind: "compressor",
    provides: [`compressor:${id}`],
    create: (): Compressor & { activate(): void } => {
      if (fail) throw new Error(fail);
      return { ...noneCompressor(), activate: () => void log.push(`activate ${id}`) };
    },
  });
}

/** Serves plugins as built-ins and records which ones were imported. */
export function builtinsOf(plugins: Plugin[], imported: string[] = []): BuiltinModules {
  return Object.fromEntries(plugins.map((plugin) => [plugin.id, () => {
    imported.push(plugin.id);
    return Promise.resolve({ default: plugin });
  }]));
}
