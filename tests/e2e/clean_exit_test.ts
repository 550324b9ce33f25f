/**
 * After `close()`, nothing of the library keeps a process alive: a program
 * that loads a manifest with `fromManifest`, switches through every mode
 * (the zstd worker pool runs), stops and closes the manager must exit by
 * itself within 2 s, on Deno and Bun from source and on Node from the
 * bundled package (built here without declarations, which takes a second).
 * Run with the built-in manifest, and with one that adds the built-ins
 * holding sockets (the admin endpoint; on Deno and Bun also a TCP transport
 * and the RTT and bandwidth probes answering on TCP listeners). A runtime that is missing
 * is skipped with a message.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runProgram } from "../support/run_program.ts";
import type { Runtime } from "../../mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PROGRAM = join(ROOT, "tests/e2e/programs/clean_exit.mjs");
const BUILTIN_MANIFEST = join(ROOT, "plugins/manifest.json");
/** How long the process may live after printing "closed". */
const EXIT_WITHIN_MS = 2_000;
/** How long it may take to get there (loading warms every codec). */
const CLOSE_WITHIN_MS = 60_000;

/** The executable of `runtime`, or why it cannot run. */
function executable(runtime: Runtime): { path: string } | { missing: string } {
  const candidates: Record<Runtime, string> = { deno: "deno", bun: "bun", node: "node" };
  const self = (globalThis as { Bun?: unknown }).Bun ? "bun" : "deno";
  const path = runtime === self ? process.execPath : candidates[runtime];
  const version = spawnSync(path, ["--version"], { encoding: "utf8" });
  if (version.status !== 0) return { missing: `${runtime} is not installed (${path} --version failed)` };
  if (runtime === "node" && Number(/v(\d+)/.exec(version.stdout)?.[1]) < 20) {
    return { missing: `node ${version.stdout.trim()} is older than 20` };
  }
  return { path };
}

/** Runs the program and resolves with how long it lived after printing "closed"; kills it past the bounds. */
function runToExit(command: string, args: string[]): Promise<{ afterCloseMs: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let closedAt: number | undefined;
    const fail = (why: string) => {
      child.kill("SIGKILL");
      reject(new Error(`${why}\n${output}`));
    };
    let deadline = setTimeout(() => fail(`did not close within ${CLOSE_WITHIN_MS} ms`), CLOSE_WITHIN_MS);
    child.stdout.on("data", (data) => {
      output += data;
      if (closedAt === undefined && output.includes("closed\n")) {
        closedAt = performance.now();
        clearTimeout(deadline);
        deadline = setTimeout(
          () => fail(`still running ${EXIT_WITHIN_MS} ms after close(): something of the library keeps it alive`),
          EXIT_WITHIN_MS,
        );
      }
    });
    child.stderr.on("data", (data) => (output += data));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(deadline);
      if (signal === "SIGKILL") return; // killed by fail()
      if (code !== 0 || closedAt === undefined) {
        return reject(new Error(`exited with ${code} before closing\n${output}`));
      }
      resolve({ afterCloseMs: performance.now() - closedAt, output });
    });
  });
}

/** The built-in manifest plus the built-ins that hold sockets and timers on `runtime`. */
function socketsManifest(runtime: Runtime): string {
  const manifest = JSON.parse(readFileSync(BUILTIN_MANIFEST, "utf8")) as {
    plugins: { id: string; module: string; options?: unknown }[];
    slots: { probes: string[] };
  };
  manifest.plugins.push({
    id: "admin-http",
    module: "builtin:admin-http",
    options: { port: 0, token: "clean-exit-token-0123456789" },
  });
  if (runtime !== "node") {
    manifest.plugins.push(
      { id: "transport-tcp", module: "builtin:transport-tcp" },
      {
        id: "probe-rtt",
        module: "builtin:probe-rtt",
        options: { listen: "127.0.0.1:0", peers: ["127.0.0.1:1"], pingTimeoutMs: 200 },
      },
      {
        id: "probe-bandwidth",
        module: "builtin:probe-bandwidth",
        options: { listen: "127.0.0.1:0", peers: ["127.0.0.1:1"] },
      },
    );
    manifest.slots.probes.push("probe-rtt", "probe-bandwidth");
  }
  return JSON.stringify(manifest);
}

async function withScratch<T>(body: (directory: string) => Promise<T>): Promise<T> {
  // Inside the repository, so that the bundle finds the dependencies in its node_modules.
  const directory = join(ROOT, "dist", `clean-exit-${crypto.randomUUID()}`);
  await mkdir(directory, { recursive: true });
  try {
    return await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

for (const runtime of ["deno", "bun", "node"] as const) {
  const found = executable(runtime);
  if ("missing" in found) console.log(`clean exit on ${runtime}: skipped, ${found.missing}`);
  Deno.test({
    name: `clean exit on ${runtime}: after close() the process exits within 2 s (built-in manifest, then sockets)`,
    ignore: "missing" in found,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      if ("missing" in found) return;
      await withScratch(async (directory) => {
        let library = pathToFileURL(join(ROOT, "mod.ts")).href;
        if (runtime === "node") {
          // In a process of its own, like `deno task build:npm`, so that the build's heap stays out of this one.
          const built = await runProgram("tools/build_npm.ts", ["--out", join(directory, "package"), "--no-types"]);
          assert.equal(built.code, 0, built.stderr);
          library = pathToFileURL(join(directory, "package", "lib", "mod.js")).href;
        }
        const sockets = join(directory, "sockets.json");
        await writeFile(sockets, socketsManifest(runtime));
        const runArgs = runtime === "deno" ? ["run", "--allow-all"] : [];
        for (const manifest of [BUILTIN_MANIFEST, sockets]) {
          const { afterCloseMs } = await runToExit(found.path, [...runArgs, PROGRAM, library, manifest]);
          assert.ok(afterCloseMs < EXIT_WITHIN_MS, `${manifest}: exited ${afterCloseMs} ms after close()`);
        }
      });
    },
  });
}
