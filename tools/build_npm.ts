/**
 * Builds the npm package into `dist/npm/` (`deno task build:npm`): ESM
 * JavaScript bundled by esbuild for every export of `deno.json` (code shared
 * between them in common chunks, so each class exists once), the zstd worker
 * and the CLI (`switchyard`); declarations emitted by the
 * TypeScript compiler (npm `typescript`), with the `.ts` import extensions
 * rewritten to `.js`; and a `package.json` made from `deno.json` (name,
 * version, license) and the repository's `package.json` (the runtime
 * dependencies, left external). Pack it with `npm pack dist/npm`.
 *
 * Usage: `deno task build:npm [--out DIR] [--no-types]`.
 *
 * @module
 */
import * as esbuild from "esbuild";
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import ts from "typescript";
import { SwitchyardError } from "../core/util/errors.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The CLI the package installs as a command, and its source. */
export const BIN = { name: "switchyard", source: "runtime/cli/bin.ts" } as const;

/** The bundled zstd worker: it must sit beside every chunk (see `plugins/compress-zstd/worker_url.ts`). */
const WORKER = { name: "zstd-worker", source: "plugins/compress-zstd/worker.ts" } as const;

/** Files besides the bundles and declarations that the package ships. */
const SHIPPED_FILES = ["README.md", "LICENSE", "plugins/manifest.json", "plugins/manifest.schema.json"];

/** Options of {@linkcode buildNpmPackage}. */
export interface BuildNpmOptions {
  /** Where the package goes (emptied first); `dist/npm` by default. */
  outDir?: string;
  /** Emit declarations (default true); without them the build takes a second instead of several. */
  types?: boolean;
}

/** What was built. */
export interface BuiltPackage {
  /** The package's directory. */
  dir: string;
  /** The generated `package.json`. */
  manifest: Record<string, unknown>;
}

interface DenoJson {
  name: string;
  version: string;
  license: string;
  exports: Record<string, string>;
}

interface RepoPackageJson {
  dependencies: Record<string, string>;
}

/** An export's bundle name: `.` is `mod`, `./admin-client` is `admin-client`. */
const bundleName = (subpath: string) => (subpath === "." ? "mod" : subpath.slice(2).replaceAll("/", "-"));

/** Serves `worker_url.ts` as the bundled worker's URL, relative to the chunk that holds it. */
const bundledWorkerUrl: esbuild.Plugin = {
  name: "bundled-worker-url",
  setup(build) {
    build.onResolve({ filter: /\/worker_url\.ts$/ }, () => ({ path: "worker_url", namespace: "switchyard" }));
    build.onLoad({ filter: /.*/, namespace: "switchyard" }, () => ({
      contents: `export const ZSTD_WORKER_URL = new URL("./${WORKER.name}.js", import.meta.url);`,
      loader: "js",
    }));
  },
};

/** Builds the package; see the module documentation. */
export async function buildNpmPackage(options: BuildNpmOptions = {}): Promise<BuiltPackage> {
  const dir = options.outDir ?? join(ROOT, "dist", "npm");
  const denoJson = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as DenoJson;
  const repoPackage = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as RepoPackageJson;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, "lib"), { recursive: true });

  const entries = Object.entries(denoJson.exports).map(([subpath, source]) => ({
    subpath,
    source: source.replace(/^\.\//, ""),
    name: bundleName(subpath),
  }));
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [...entries, WORKER, BIN].map((entry) => ({ in: entry.source, out: entry.name })),
    outdir: join(dir, "lib"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    packages: "external",
    chunkNames: "[name]-[hash]",
    plugins: [bundledWorkerUrl],
    metafile: true,
    logLevel: "warning",
  });
  const imported = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    // Runtime modules (node:, and bun: behind Bun-only branches) are no packages.
    for (const item of output.imports) if (item.external && !/^(node|bun):/.test(item.path)) imported.add(item.path);
  }
  const dependencies: Record<string, string> = {};
  for (const specifier of [...imported].sort()) {
    const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0];
    const range = repoPackage.dependencies[name];
    if (!range) {
      throw new SwitchyardError(
        "CONFIG_INVALID",
        `the library imports "${specifier}", which is not in package.json's dependencies`,
      );
    }
    dependencies[name] = range;
  }
  const binFile = join(dir, "lib", `${BIN.name}.js`);
  await writeFile(binFile, `#!/usr/bin/env node\n${await readFile(binFile, "utf8")}`);
  await chmod(binFile, 0o755);

  if (options.types ?? true) {
    await emitDeclarations(entries.map((entry) => join(ROOT, entry.source)), join(dir, "types"));
  }
  for (const file of SHIPPED_FILES) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(dir, file));
  }

  const typesOf = (source: string) => `./types/${source.replace(/\.ts$/, ".d.ts")}`;
  const manifest = {
    name: denoJson.name,
    version: denoJson.version,
    description:
      "Keeps a distributed application on the stack that fits its network (Raft/RDMA/LZ4, PBFT/TCP/zstd, hybrid), switching from measurements.",
    license: denoJson.license,
    type: "module",
    exports: {
      ...Object.fromEntries(
        entries.map((entry) => [entry.subpath, { types: typesOf(entry.source), import: `./lib/${entry.name}.js` }]),
      ),
      "./plugins/manifest.json": "./plugins/manifest.json",
      "./package.json": "./package.json",
    },
    types: typesOf(entries.find((entry) => entry.subpath === ".")!.source),
    bin: { [BIN.name]: `./lib/${BIN.name}.js` },
    files: ["lib", "types", ...SHIPPED_FILES],
    dependencies,
    engines: { node: ">=20" },
  };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, manifest };
}

/** A relative module specifier ending in `.ts` (not `.d.ts`), in an import, export or `import()` type. */
const RELATIVE_TS_SPECIFIER = /((?:from |import\()["'])(\.{1,2}\/[^"']*?)(?<!\.d)\.ts(["'])/g;

/**
 * Emits the declarations of `roots` and what they import into `outDir`,
 * mirroring the source tree; the generated codecs' own `.d.ts` files are
 * copied beside them. Fails on any error of the declaration emit itself.
 */
async function emitDeclarations(roots: string[], outDir: string): Promise<void> {
  const options: ts.CompilerOptions = {
    declaration: true,
    emitDeclarationOnly: true,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    allowJs: false,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    types: [],
    strict: true,
    skipLibCheck: true,
    rootDir: ROOT,
    outDir,
    noEmitOnError: false,
  };
  const program = ts.createProgram(roots, options);
  // The compiler rewrites `.ts` import extensions in JavaScript only; declarations get the same rewrite here.
  const writeFile: ts.WriteFileCallback = (fileName, text, bom) =>
    ts.sys.writeFile(fileName, text.replace(RELATIVE_TS_SPECIFIER, "$1$2.js$3"), bom);
  const emitted = program.emit(undefined, writeFile, undefined, true);
  const failures = emitted.diagnostics.filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error);
  if (emitted.emitSkipped || failures.length > 0) {
    const text = ts.formatDiagnostics(failures, {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => ROOT,
      getNewLine: () => "\n",
    });
    throw new SwitchyardError("CONFIG_INVALID", `declaration emit failed:\n${text}`);
  }
  for (const source of program.getSourceFiles()) {
    const file = relative(ROOT, source.fileName);
    if (!file.startsWith("wasm/") || !file.endsWith(".d.ts")) continue;
    await mkdir(dirname(join(outDir, file)), { recursive: true });
    await copyFile(source.fileName, join(outDir, file));
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: { out: { type: "string" }, "no-types": { type: "boolean", default: false } },
  });
  const built = await buildNpmPackage({
    ...(values.out ? { outDir: values.out } : {}),
    types: !values["no-types"],
  });
  console.log(`built ${built.manifest.name}@${built.manifest.version} in ${relative(process.cwd(), built.dir) || "."}`);
  await esbuild.stop();
}
