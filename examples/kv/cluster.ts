/**
 * Launches the key-value store as a local cluster of processes (one per
 * node, each with its own data directory), on free loopback ports, with the
 * runtime running this code. Raft nodes share a fresh random cluster key
 * (passed in `SWITCHYARD_CLUSTER_KEY`); PBFT nodes each get a fresh secret of
 * their own (a file beside their data directory) and every node's identity.
 * Used by the crash tests and the benchmark.
 *
 * ```sh
 * deno run -A examples/kv/cluster.ts --nodes 3                 # Raft; prints the nodes' URLs; Ctrl-C stops them
 * deno run -A examples/kv/cluster.ts --nodes 4 --engine pbft   # PBFT
 * deno run -A examples/kv/cluster.ts --nodes 4 --engine adaptive  # Raft ⇄ PBFT (the adaptive engine)
 * ```
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateClusterKey } from "@switchyard/hybrid/peer-auth";
import { generateReplicaSecret, identityOf } from "@switchyard/hybrid/consensus-pbft";

/** One node process. */
export interface KvNodeProcess {
  /** Node id, `n1`… */
  id: string;
  /** Its client API. */
  httpUrl: string;
  /** Its data directory. */
  dataDir: string;
  /** The running process, or `undefined` while stopped. */
  process: ChildProcess | undefined;
}

/** A running local cluster. */
export interface KvCluster {
  /** The nodes. */
  nodes: KvNodeProcess[];
  /** Every node's client URL. */
  urls: string[];
  /** Waits until some node leads and returns it. */
  leader(timeoutMs?: number): Promise<KvNodeProcess>;
  /** Kills a node with `signal` (default SIGKILL) and waits for it to exit. */
  kill(id: string, signal?: NodeJS.Signals): Promise<void>;
  /** Sends `signal` to a node without waiting (SIGSTOP and SIGCONT pause and resume it). */
  signal(id: string, signal: NodeJS.Signals): void;
  /** Starts a stopped node again on the same ports and data (with `extraArgs` added, if given). */
  restart(id: string, extraArgs?: string[]): Promise<void>;
  /** Stops every node and removes the data (unless `keepData`). */
  stop(): Promise<void>;
}

const NODE_SCRIPT = fileURLToPath(new URL("./node.ts", import.meta.url));

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

/** The command that runs a TypeScript file on this runtime. */
export function runtimeCommand(script: string, args: string[]): [string, string[]] {
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
  return [process.execPath, isBun ? [script, ...args] : ["run", "--allow-all", script, ...args]];
}

/** Starts `size` nodes and waits until each is ready. */
export async function launchKvCluster(
  options: {
    size?: number;
    tickMs?: number;
    engine?: "raft" | "pbft" | "adaptive";
    log?: (line: string) => void;
    /** Extra arguments for one node's process (e.g. a test's fault injection). */
    extraArgs?: (id: string) => string[];
  } = {},
): Promise<KvCluster> {
  const engine = options.engine ?? "raft";
  const size = options.size ?? (engine === "raft" ? 3 : 4);
  const root = await mkdtemp(join(tmpdir(), "switchyard-kv-"));
  const env = { ...process.env, SWITCHYARD_CLUSTER_KEY: generateClusterKey() };
  const specs: string[] = [];
  const nodes: KvNodeProcess[] = [];
  const engineArgs = new Map<string, string[]>();
  if (engine !== "raft") {
    const identities: string[] = [];
    for (let i = 1; i <= size; i++) {
      const secret = generateReplicaSecret();
      const secretFile = join(root, `n${i}.secret`);
      await writeFile(secretFile, Buffer.from(secret).toString("hex"), { mode: 0o600 });
      identities.push(`n${i}=${await identityOf(secret)}`);
      engineArgs.set(`n${i}`, ["--engine", engine, "--secret-file", secretFile]);
    }
    for (const args of engineArgs.values()) for (const identity of identities) args.push("--identity", identity);
  }
  for (let i = 1; i <= size; i++) {
    const [raftPort, httpPort] = [await freePort(), await freePort()];
    specs.push(`n${i}=127.0.0.1:${raftPort},127.0.0.1:${httpPort}`);
    nodes.push({
      id: `n${i}`,
      httpUrl: `http://127.0.0.1:${httpPort}`,
      dataDir: join(root, `n${i}`),
      process: undefined,
    });
  }
  const start = (node: KvNodeProcess, extra: string[] = []) =>
    new Promise<void>((resolve, reject) => {
      const args = ["--id", node.id, "--data-dir", node.dataDir, "--tick-ms", String(options.tickMs ?? 10), "--quiet"];
      for (const spec of specs) args.push("--node", spec);
      args.push(...engineArgs.get(node.id) ?? [], ...options.extraArgs?.(node.id) ?? [], ...extra);
      const [command, commandArgs] = runtimeCommand(NODE_SCRIPT, args);
      const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"], env });
      node.process = child;
      let output = "";
      let errors = "";
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(`ready ${node.id}`)) resolve();
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (chunk: Buffer) => {
        errors = (errors + chunk.toString()).slice(-4000);
        options.log?.(`${node.id}: ${chunk.toString().trimEnd()}`);
      });
      child.on("exit", (code, signal) => {
        if (node.process === child) node.process = undefined;
        reject(new Error(`${node.id} exited (${signal ?? code}) before it was ready:\n${output}\n${errors}`));
      });
    });
  const byId = (id: string) => {
    const node = nodes.find((candidate) => candidate.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  };
  const kill = async (id: string, signal: NodeJS.Signals = "SIGKILL") => {
    const child = byId(id).process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    await exited;
    byId(id).process = undefined;
  };
  await Promise.all(nodes.map((node) => start(node)));
  return {
    nodes,
    urls: nodes.map((node) => node.httpUrl),
    async leader(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const node of nodes) {
          if (!node.process) continue;
          const status = await fetch(`${node.httpUrl}/status`).then((r) => r.json()).catch(() => undefined);
          if (status?.role === "leader") return node;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no leader within ${timeoutMs} ms`);
    },
    kill,
    // process.kill, not ChildProcess.kill: Deno's ignores every signal after the first one it sent.
    signal: (id, signal) => void process.kill(byId(id).process!.pid!, signal),
    restart: (id, extraArgs) => start(byId(id), extraArgs),
    async stop() {
      await Promise.all(nodes.map((node) => kill(node.id, "SIGKILL")));
      await rm(root, { recursive: true, force: true });
    },
  };
}

if (import.meta.main) {
  const engine = process.argv.includes("adaptive") ? "adaptive" : process.argv.includes("pbft") ? "pbft" : "raft";
  const size = Number(process.argv[process.argv.indexOf("--nodes") + 1]) || (engine === "raft" ? 3 : 4);
  const cluster = await launchKvCluster({ size, engine, log: console.error });
  for (const node of cluster.nodes) console.log(`${node.id}: ${node.httpUrl}`);
  console.log(`leader: ${(await cluster.leader()).id}; try: curl -X PUT --data green ${cluster.urls[0]}/kv/color -L`);
  process.on("SIGINT", () => cluster.stop().then(() => process.exit(0)));
}
