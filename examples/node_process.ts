/**
 * What the local launchers (`kv/cluster.ts`, `cluster/main.ts`) share: free
 * loopback ports for nodes, the command that runs a TypeScript file on the
 * runtime running this code, and node processes that are started, waited
 * for until they print `ready <id>`, killed and restarted.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import process from "node:process";
import { currentRuntime } from "@switchyard/hybrid";
import { generateReplicaSecret, identityOf } from "@switchyard/hybrid/consensus-pbft";

/**
 * Ports for nodes come from below Linux's default ephemeral range
 * (32768-60999): a port picked by the kernel for `listen(0)` is one it may
 * later hand to an outgoing connection as its source port, and a node
 * restarted while such a connection holds its port could not bind it again.
 */
const NODE_PORTS = { first: 20_000, count: 12_000 };

/** Ports this process handed out: nothing may listen on them yet, so they are never handed out twice. */
const handedOut = new Set<number>();

/**
 * A loopback TCP port nothing listens on now, outside the ephemeral range,
 * and never one this process handed out before (its node may not listen on
 * it yet, or may be down for a restart).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const port = NODE_PORTS.first + Math.floor(Math.random() * NODE_PORTS.count);
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error("no free loopback port found in 64 attempts");
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A fresh PBFT secret for each of `ids`, written to `<dir>/<id>.secret`
 * (hex, mode 0600), and every one's public identity.
 */
export async function writeReplicaSecrets(
  dir: string,
  ids: readonly string[],
): Promise<{ files: Record<string, string>; identities: Record<string, string> }> {
  const files: Record<string, string> = {};
  const identities: Record<string, string> = {};
  for (const id of ids) {
    const secret = generateReplicaSecret();
    files[id] = join(dir, `${id}.secret`);
    await writeFile(files[id], Buffer.from(secret).toString("hex"), { mode: 0o600 });
    identities[id] = await identityOf(secret);
  }
  return { files, identities };
}

/** The command that runs a TypeScript file on this runtime (`denoFlags` go to `deno run`, e.g. V8 flags). */
export function runtimeCommand(script: string, args: string[], denoFlags: string[] = []): [string, string[]] {
  const onBun = currentRuntime() === "bun";
  return [process.execPath, onBun ? [script, ...args] : ["run", "--allow-all", ...denoFlags, script, ...args]];
}

/** How a node process runs. */
export interface NodeProcessOptions {
  /** Its environment (default: this process's). */
  env?: Record<string, string | undefined>;
  /** Gets its stderr, line by line, prefixed with its id. */
  log?: (line: string) => void;
  /** Flags for `deno run` (ignored on Bun), e.g. V8 flags. */
  denoFlags?: string[];
  /**
   * Its own process group, so that a terminal's Ctrl-C reaches only the
   * launcher, which then stops its nodes in order; its standard input is a
   * pipe from the launcher (a node started with `--exit-with-stdin` stops
   * when the launcher dies and the pipe closes).
   */
  detached?: boolean;
  /** How long it may take to print `ready <id>` (default 120 s). */
  readyTimeoutMs?: number;
}

/** One node process, started and restarted with the same arguments. */
export class NodeProcess {
  /** The running process, or `undefined` while stopped. */
  child: ChildProcess | undefined;

  /** A node `id` run from `script` with `args` (more per start). */
  constructor(
    readonly id: string,
    readonly script: string,
    readonly args: string[],
    readonly options: NodeProcessOptions = {},
  ) {}

  /**
   * Starts it; resolves once it printed `ready <id>`, rejects with its
   * output's tail if it exits first, cannot be spawned, or is not ready in
   * time (then it is killed).
   */
  start(extraArgs: string[] = []): Promise<void> {
    const { env = process.env, log, denoFlags = [], detached = false, readyTimeoutMs = 120_000 } = this.options;
    return new Promise<void>((resolve, reject) => {
      const [command, commandArgs] = runtimeCommand(this.script, [...this.args, ...extraArgs], denoFlags);
      const child = spawn(command, commandArgs, {
        stdio: [detached ? "pipe" : "ignore", "pipe", "pipe"],
        env,
        detached,
      });
      this.child = child;
      let output = "";
      let errors = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`${this.id} was not ready within ${readyTimeoutMs} ms:\n${output}\n${errors}`));
      }, readyTimeoutMs);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(new Error(`${this.id} could not be started (${command}): ${error.message}`));
      });
      child.stdout!.on("data", (chunk: Buffer) => {
        output = (output + chunk.toString()).slice(-4000);
        if (output.includes(`ready ${this.id}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on("data", (chunk: Buffer) => {
        errors = (errors + chunk.toString()).slice(-4000);
        for (const line of chunk.toString().trimEnd().split("\n")) log?.(`${this.id}: ${line}`);
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) this.child = undefined;
        reject(new Error(`${this.id} exited (${signal ?? code}) before it was ready:\n${output}\n${errors}`));
      });
    });
  }

  /** Sends `signal` (default SIGKILL) and waits for the process to exit; nothing when it is not running. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // process.kill, not ChildProcess.kill: Deno's ignores every signal after the first one it sent.
    process.kill(child.pid!, signal);
    await exited;
    if (this.child === child) this.child = undefined;
  }

  /** Sends `signal` without waiting (SIGSTOP and SIGCONT pause and resume it). */
  signal(signal: NodeJS.Signals): void {
    if (this.child?.pid) process.kill(this.child.pid, signal);
  }
}
