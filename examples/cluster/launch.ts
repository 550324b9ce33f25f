/**
 * Launches the local cluster: `size` node processes (`switchyard node
 * --config FILE`, the CLI's own command) on loopback,
 * each with its own data directory, PBFT secret and configuration file,
 * every link between two nodes through the emulated network (`links.ts`),
 * and one admin token for every node's endpoint.
 *
 * @module
 */
import { rmSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { freePort, NodeProcess, writeReplicaSecrets } from "../node_process.ts";
import type { ClusterNodeConfig } from "@switchyard/hybrid/node";
import { type LinkConditions, LinkMesh } from "./links.ts";

/** One node of the cluster, as the launcher knows it. */
export interface ClusterMember {
  /** Its id, `n1`… */
  id: string;
  /** Its key-value API. */
  httpUrl: string;
  /** Its admin endpoint (dashboard at `/`). */
  adminUrl: string;
  /** Its configuration file. */
  configFile: string;
}

/** A running local cluster. */
export interface LocalCluster {
  /** The nodes. */
  members: ClusterMember[];
  /** Every node's key-value URL. */
  urls: string[];
  /** The bearer token of every admin endpoint. */
  token: string;
  /** The emulated links between the nodes. */
  links: LinkMesh;
  /** Kills a node with `signal` (default SIGKILL) and waits for it to exit. */
  kill(id: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped node again on the same ports and data. */
  restart(id: string): Promise<void>;
  /** Whether a node's process runs. */
  running(id: string): boolean;
  /** A running node's peak resident memory so far, bytes (Linux; undefined elsewhere). */
  peakMemoryBytes(id: string): Promise<number | undefined>;
  /** Stops every node (SIGTERM: a clean stop, SIGKILL after 5 s), closes the links, removes the data. */
  stop(): Promise<void>;
  /** At once, for a process about to exit: SIGKILL to every node, the data removed. */
  abort(): void;
}

/** How to launch. */
export interface LaunchOptions {
  /** Nodes (at least 4: PBFT epochs tolerate one faulty node of four). */
  size?: number;
  /** The links' conditions at start. */
  initialLink: LinkConditions;
  /** Seeds the links' jitter and loss. */
  seed?: number;
  /** The managers' settings (see `resolveConfig`; default {@linkcode CLUSTER_MANAGER_SETTINGS}). */
  manager?: Record<string, unknown>;
  /** The adaptive engine's settings (see `config.ts`; default {@linkcode CLUSTER_CONSENSUS_SETTINGS}). */
  consensus?: ClusterNodeConfig["consensus"];
  /** The compressors' settings (see `config.ts`; default: zstd level 3 in internet mode). */
  compression?: ClusterNodeConfig["compression"];
  /** Gets every line the nodes write to stderr. */
  log?: (line: string) => void;
}

/** The managers' settings: a detection every second over the last three samples. */
export const CLUSTER_MANAGER_SETTINGS = {
  detectionIntervalMs: 1_000,
  sampleWindow: 3,
  cooldownMs: 2_000,
  // Loopback through user-space link proxies moves a few hundred megabits per second (on a busy machine, less):
  // that is this demo's "rack".
  datacenterBandwidthThresholdMbps: 100,
  internetBandwidthThresholdMbps: 10,
};
/**
 * The adaptive engine's settings: reports twice a second, at most one
 * decision every two seconds. A link that gets better often takes two
 * decisions (internet, hybrid while the bandwidth measured during the WAN
 * still counts, then datacenter), so the cooldown stays under half the
 * bound a change should take, `(sampleWindow + 1) × detectionIntervalMs`.
 */
export const CLUSTER_CONSENSUS_SETTINGS = { tickMs: 10, reportEveryMs: 500, cooldownMs: 2_000, graceMs: 2_000 };
/**
 * Deno nodes run with V8's `--optimize-for-size`: measured here, a node's
 * peak memory at 1,000 commits per second drops from 170–220 MiB to
 * 115–130 MiB for about a tenth of its throughput (`deno task bench --only
 * cluster`). Bun's engine has no such flag and stays near 135–155 MiB.
 */
const DENO_FLAGS = ["--v8-flags=--optimize-for-size"];
const CLI_SCRIPT = fileURLToPath(new URL("../../runtime/cli/main.ts", import.meta.url));

/** Starts the cluster and waits until every node serves. */
export async function launchCluster(options: LaunchOptions): Promise<LocalCluster> {
  const size = options.size ?? 4;
  if (!Number.isSafeInteger(size) || size < 4) throw new RangeError(`size must be a whole number >= 4, got ${size}`);
  const root = await mkdtemp(join(tmpdir(), "switchyard-cluster-"));
  const token = crypto.randomUUID().replaceAll("-", "");
  const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const listen: Record<string, ClusterNodeConfig["listen"]> = {};
  for (const id of ids) {
    listen[id] = {
      transport: `127.0.0.1:${await freePort()}`,
      probe: `127.0.0.1:${await freePort()}`,
      http: `127.0.0.1:${await freePort()}`,
      admin: `127.0.0.1:${await freePort()}`,
    };
  }
  let links: LinkMesh | undefined;
  const processes = new Map<string, NodeProcess>();
  const stop = async () => {
    await Promise.all([...processes.values()].map(async (node) => {
      const timer = setTimeout(() => node.signal("SIGKILL"), 5_000);
      await node.kill("SIGTERM");
      clearTimeout(timer);
    }));
    await links?.close();
    await rm(root, { recursive: true, force: true });
  };
  const members: ClusterMember[] = [];
  try {
    links = await LinkMesh.start(
      Object.fromEntries(ids.map((id) => [id, { transport: listen[id].transport, probe: listen[id].probe }])),
      options.initialLink,
      options.seed,
    );
    const { files: secrets, identities } = await writeReplicaSecrets(root, ids);
    const env = { ...process.env, SWITCHYARD_TOKEN: token };
    for (const id of ids) {
      const mesh = links;
      const peers = Object.fromEntries(
        ids.filter((peer) => peer !== id).map((peer) => [peer, {
          transport: mesh.address(id, peer, "transport"),
          probe: mesh.address(id, peer, "probe"),
          http: listen[peer].http,
        }]),
      );
      const config = {
        id,
        dataDir: join(root, id),
        secretFile: secrets[id],
        listen: listen[id],
        peers,
        identities,
        manager: options.manager ?? CLUSTER_MANAGER_SETTINGS,
        consensus: options.consensus ?? CLUSTER_CONSENSUS_SETTINGS,
        ...(options.compression ? { compression: options.compression } : {}),
      };
      const configFile = join(root, `${id}.json`);
      await writeFile(configFile, JSON.stringify(config, null, 2));
      members.push({ id, httpUrl: `http://${listen[id].http}`, adminUrl: `http://${listen[id].admin}`, configFile });
      processes.set(
        id,
        new NodeProcess(id, CLI_SCRIPT, ["node", "--config", configFile, "--exit-with-stdin"], {
          env,
          log: options.log,
          denoFlags: DENO_FLAGS,
          detached: true,
        }),
      );
    }
    await Promise.all([...processes.values()].map((node) => node.start()));
  } catch (error) {
    await stop();
    throw error;
  }
  const byId = (id: string) => {
    const node = processes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  };
  return {
    members,
    urls: members.map((member) => member.httpUrl),
    token,
    links: links!,
    kill: (id, signal) => byId(id).kill(signal),
    restart: (id) => byId(id).start(),
    running: (id) => byId(id).child !== undefined,
    async peakMemoryBytes(id) {
      const pid = byId(id).child?.pid;
      if (!pid) return undefined;
      const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
      const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
      return match ? Number(match[1]) * 1024 : undefined;
    },
    stop,
    abort() {
      for (const node of processes.values()) node.signal("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    },
  };
}
