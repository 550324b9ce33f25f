/**
 * Checks what `deno publish` would ship (`deno task publish:check`, run by
 * CI): runs `deno publish --dry-run --allow-dirty` (offline: a dry run needs
 * no registry), fails when it fails, and fails when the package holds a file
 * outside the library (tests, benchmarks, examples, CI, tools, the WASM
 * build script) or lacks a module the library loads (the generated codecs).
 *
 * @module
 */
import { execPath } from "node:process";
import process from "node:process";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SwitchyardError } from "../core/util/errors.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What the package may hold: the library's modules, the built-in manifest, the codecs, README, LICENSE. */
export const SHIPPED =
  /^(mod\.ts|deno\.json|README\.md|LICENSE|(core|runtime|testing)\/.+\.ts|plugins\/.+\.(ts|json)|wasm\/[a-z0-9_]+\.(js|d\.ts))$/;

/** Files the package must hold. */
export const REQUIRED = ["mod.ts", "wasm/zstd.js", "wasm/lz4_block.js", "wasm/lz4_decoder.js", "plugins/manifest.json"];

/** The files a dry run lists, relative to the repository, or throws with its output when it fails. */
export function dryRunFiles(): string[] {
  const result = spawnSync(execPath, ["publish", "--dry-run", "--allow-dirty"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new SwitchyardError("CONFIG_INVALID", `deno publish --dry-run failed:\n${output}`);
  const root = new URL(`file://${ROOT}`).href;
  return [...output.matchAll(/^\s+(file:\/\/\S+)/gm)].map((match) => match[1].slice(root.length));
}

/** The problems with `files`: any outside {@linkcode SHIPPED}, any of {@linkcode REQUIRED} missing. */
export function packageProblems(files: string[]): string[] {
  return [
    ...files.filter((file) => !SHIPPED.test(file) || file.endsWith("_test.ts")).map((file) => `ships ${file}`),
    ...REQUIRED.filter((file) => !files.includes(file)).map((file) => `lacks ${file}`),
  ];
}

if (import.meta.main) {
  const files = dryRunFiles();
  const problems = packageProblems(files);
  if (problems.length > 0) {
    console.error(`publish check: ${problems.join("; ")}`);
    process.exit(1);
  }
  console.log(`publish check: ${files.length} files, the library only`);
}
