/**
 * The npm package as a user gets it: built (`tools/build_npm.ts`, what
 * `deno task build:npm` runs, in a subprocess), packed with `npm pack`, installed from the
 * tarball into a scratch project outside the repository (`npm install
 * --prefer-offline`: only the package's own dependencies come from the
 * registry, and from npm's cache once fetched), then used there by
 * `programs/package_consumer.mjs` on Node (20 or later), on Bun and on Deno
 * (through `node_modules`, with no import map), type-checked by Deno against
 * the shipped declarations, and its `switchyard` command run. Last, a
 * Deno program in a directory of its own imports the repository's `mod.ts`
 * by path. Skipped with a message where `npm` or `node` is missing; each
 * other runtime is skipped likewise.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runProgram } from "../support/run_program.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CONSUMER = join(ROOT, "tests/e2e/programs/package_consumer.mjs");
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `command`, killing it after `timeoutMs`. */
function run(command: string, args: string[], cwd: string, timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.stdout.on("data", (data) => (stdout += data));
    child.stderr.on("data", (data) => (stderr += data));
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const succeeded = (result: Result, what: string) =>
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);

/** The path of `name` if `name --version` runs (Node: 20 or later). */
function available(name: string): string | undefined {
  const path = name === (isBun ? "bun" : "deno") ? process.execPath : name;
  const version = spawnSync(path, ["--version"], { encoding: "utf8" });
  if (version.status !== 0) return undefined;
  if (name === "node" && Number(/v(\d+)/.exec(version.stdout)?.[1]) < 20) return undefined;
  return path;
}

const node = available("node");
const npm = available("npm");
const bun = available("bun");
const deno = available("deno");
const missing = !node ? "node 20 or later is not installed" : !npm ? "npm is not installed" : undefined;
if (missing) console.log(`npm package test: skipped, ${missing}`);

/**
 * A TypeScript consumer that only type-checks against the shipped declarations (strict, library files
 * checked too); the `@ts-expect-error` lines fail the check if the declarations were missing or `any`.
 */
const TYPES_CONSUMER = `import { HybridManager, type Mode, SwitchyardError } from "@switchyard/hybrid";
import { adminClient } from "@switchyard/hybrid/admin-client";
import { runCompliance } from "@switchyard/hybrid/testing";
const manager = new HybridManager({ nodeId: "types" });
const mode: Mode = manager.currentMode;
// @ts-expect-error: a mode is one of three names
const wrong: Mode = "lan";
// @ts-expect-error: adminClient takes a URL string
adminClient(42);
console.log(mode, wrong, SwitchyardError.name, typeof runCompliance);
`;

/** How Node users compile: Node's own module resolution, no @types/node, nothing skipped. */
const TSCONFIG = {
  compilerOptions: {
    module: "nodenext",
    moduleResolution: "nodenext",
    target: "es2022",
    lib: ["es2023", "dom"],
    types: [],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
  },
  files: ["types.ts"],
};

/** Relative `.ts` specifiers left in a declaration file (TypeScript before 5 resolves none of them). */
async function tsSpecifiers(types: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of types) {
    const text = await readFile(file, "utf8");
    for (const match of text.matchAll(/(?:from |import\()["'](\.{1,2}\/[^"']*?)(?<!\.d)\.ts["']/g)) {
      found.push(`${file}: ${match[1]}.ts`);
    }
  }
  return found;
}

Deno.test({
  name: "npm package: packed, installed from the tarball, it runs on Node, Bun and Deno; Deno imports mod.ts by path",
  ignore: missing !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const scratch = await mkdtemp(join(tmpdir(), "switchyard-npm-"));
    try {
      // What `deno task build:npm` runs, in a process of its own (the compiler's heap stays out of this one).
      const dir = join(scratch, "package");
      const built = await runProgram("tools/build_npm.ts", ["--out", dir]);
      assert.equal(built.code, 0, `${built.stdout}\n${built.stderr}`);
      const manifest = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
      const command = "switchyard";
      assert.deepEqual(manifest.bin, { [command]: `./lib/${command}.js` });
      const denoJson = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8"));
      assert.equal(manifest.name, denoJson.name);
      assert.equal(manifest.version, denoJson.version);
      assert.equal(manifest.type, "module");
      const exports = manifest.exports as Record<string, { types: string; import: string } | string>;
      for (const subpath of Object.keys(denoJson.exports)) {
        const entry = exports[subpath];
        assert.ok(typeof entry === "object", `exports["${subpath}"] has types and import`);
        for (const file of [entry.types, entry.import]) await stat(join(dir, file)); // throws when missing
      }

      const packed = await run(npm!, ["pack", "--json", "--pack-destination", scratch], dir);
      succeeded(packed, "npm pack");
      const [{ filename, files }] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
      const shipped = files.map((file) => file.path);
      const outside = shipped.filter((path) =>
        !/^(lib|types|plugins)\/|^(package\.json|README\.md|LICENSE)$/.test(path)
      );
      assert.deepEqual(outside, [], "the tarball holds the bundles, declarations, manifest, README and LICENSE only");
      assert.ok(shipped.includes(`lib/${command}.js`) && shipped.includes("lib/zstd-worker.js"));

      const app = join(scratch, "app");
      await mkdir(app);
      await writeFile(
        join(app, "package.json"),
        JSON.stringify({
          name: "app",
          private: true,
          type: "module",
          dependencies: { [denoJson.name]: `file:../${filename}` },
        }),
      );
      succeeded(
        await run(npm!, ["install", "--prefer-offline", "--no-audit", "--no-fund"], app, 120_000),
        "npm install",
      );
      await copyFile(CONSUMER, join(app, "consumer.mjs"));

      const runtimes: [string, string | undefined, string[]][] = [
        ["node", node, ["consumer.mjs", "node"]],
        ["bun", bun, ["consumer.mjs", "bun"]],
        ["deno", deno, ["run", "--allow-all", "consumer.mjs", "deno"]],
      ];
      for (const [name, path, args] of runtimes) {
        if (!path) {
          console.log(`npm package test: ${name} is not installed, its run is skipped`);
          continue;
        }
        const result = await run(path, args, app);
        succeeded(result, `the consumer on ${name}`);
        const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
        assert.equal(report.runtime, name);
      }

      const declarations = shipped.filter((path) => path.endsWith(".d.ts")).map((path) => join(dir, path));
      assert.ok(declarations.length > 10);
      assert.deepEqual(await tsSpecifiers(declarations), [], "declarations import .js, not .ts");
      await writeFile(join(app, "types.ts"), TYPES_CONSUMER);
      await writeFile(join(app, "tsconfig.json"), JSON.stringify(TSCONFIG));
      const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
      if (existsSync(tsc)) succeeded(await run(node!, [tsc, "-p", "."], app), "tsc against the declarations");
      else console.log("npm package test: typescript is not installed (run `deno install`); tsc check skipped");

      const cli = await run(node!, [join(app, "node_modules", ".bin", command), "--help"], app);
      succeeded(cli, `${command} --help`);
      assert.match(cli.stdout, /usage: switchyard <command>/);

      if (deno) {
        succeeded(await run(deno, ["check", "types.ts"], app), "deno check against the declarations");

        // By path: a project with a package.json of its own (Deno then resolves the library's bare imports from
        // the repository's node_modules, as Node would); without any configuration Deno cannot (see README).
        if (existsSync(join(ROOT, "node_modules", "valibot"))) {
          const byPath = join(scratch, "by-path");
          await mkdir(byPath);
          await writeFile(join(byPath, "package.json"), JSON.stringify({ private: true, type: "module" }));
          await writeFile(
            join(byPath, "main.ts"),
            `import { fromManifest } from ${JSON.stringify(pathToFileURL(join(ROOT, "mod.ts")).href)};
const manager = await fromManifest(${JSON.stringify(join(ROOT, "plugins", "manifest.json"))});
console.log(manager.getStats().plugins.map((record) => record.state).join(","));
await manager.close();
`,
          );
          const result = await run(deno, ["run", "--allow-all", "main.ts"], byPath);
          succeeded(result, "deno run importing mod.ts by path");
          assert.equal(result.stdout.trim(), "loaded,loaded,loaded,loaded");
        } else {
          console.log("npm package test: the repository has no node_modules (run `deno install`); by path skipped");
        }
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
});
