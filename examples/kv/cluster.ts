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
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { generateClusterKey } from "@switchyard/hybrid/peer-auth";
import { freePort, NodeProcess, writeReplicaSecrets } from "../node_process.ts";

export { freePort, runtimeCommand } from "../node_process.ts";

/** One node process. */
export interface KvNodeProcess {
  /** Node id, `n1`… */
  id: string;
  /** Its client API. */
  httpUrl: string;
  /** Its data directory. */
  dataDir: string;
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
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const { files, identities } = await writeReplicaSecrets(root, ids);
    for (const id of ids) {
      const args = ["--engine", engine, "--secret-file", files[id]];
      for (const [member, identity] of Object.entries(identities)) args.push("--identity", `${member}=${identity}`);
      engineArgs.set(id, args);
    }
  }
  for (let i = 1; i <= size; i++) {
    const [raftPort, httpPort] = [await freePort(), await freePort()];
    specs.push(`n${i}=127.0.0.1:${raftPort},127.0.0.1:${httpPort}`);
    nodes.push({ id: `n${i}`, httpUrl: `http://127.0.0.1:${httpPort}`, dataDir: join(root, `n${i}`) });
  }
  const processes = new Map(nodes.map((node) => {
    const args = ["--id", node.id, "--data-dir", node.dataDir, "--tick-ms", String(options.tickMs ?? 10), "--quiet"];
    for (const spec of specs) args.push("--node", spec);
    args.push(...engineArgs.get(node.id) ?? [], ...options.extraArgs?.(node.id) ?? []);
    return [node.id, new NodeProcess(node.id, NODE_SCRIPT, args, { env, log: options.log })];
  }));
  const byId = (id: string) => {
    const node = processes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  };
  await Promise.all([...processes.values()].map((node) => node.start()));
  return {
    nodes,
    urls: nodes.map((node) => node.httpUrl),
    async leader(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const node of nodes) {
          if (!byId(node.id).child) continue;
          const status = await fetch(`${node.httpUrl}/status`).then((r) => r.json()).catch(() => undefined);
          if (status?.role === "leader") return node;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no leader within ${timeoutMs} ms`);
    },
    kill: (id, signal) => byId(id).kill(signal),
    signal: (id, signal) => byId(id).signal(signal),
    restart: (id, extraArgs) => byId(id).start(extraArgs),
    async stop() {
      await Promise.all([...processes.values()].map((node) => node.kill("SIGKILL")));
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
