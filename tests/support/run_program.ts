/**
 * Runs one of the project's programs as a subprocess of the runtime running
 * the tests (`deno run -A file` under Deno, `bun file` under Bun), without
 * blocking the event loop, so a server in the test process keeps answering.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** What the program did. */
export interface ProgramResult {
  /** Its exit code. */
  code: number | null;
  /** What it printed on stdout. */
  stdout: string;
  /** What it printed on stderr. */
  stderr: string;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

/** Runs `file` (relative to the repository root) with `args`, and `env` added to a minimal environment. */
export function runProgram(file: string, args: string[], env: Record<string, string> = {}): Promise<ProgramResult> {
  const command = isBun ? [file, ...args] : ["run", "-A", file, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, command, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data) => (stdout += data));
    child.stderr.on("data", (data) => (stderr += data));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
