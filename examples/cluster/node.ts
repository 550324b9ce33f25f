/**
 * One node of the local cluster, as a process: its manager loaded from the
 * node's manifest (`manifest.ts`: real probes towards every peer, the
 * adaptive transport, the adaptive consensus, per-mode compressors, the
 * admin endpoint with its dashboard), the replicated key-value store on the
 * consensus the manager serves, and the store's HTTP API.
 *
 * ```sh
 * deno run -A examples/cluster/node.ts --config /etc/switchyard/n1.json
 * ```
 *
 * The configuration file is described in `config.ts`; a bad one is refused
 * with every bad field named (exit 2). The node prints `ready <id>` once it
 * serves, and stops cleanly on SIGINT or SIGTERM. HTTP: the key-value routes
 * of `examples/kv/http.ts`, and `GET /adaptive`, `POST /adaptive/force` of
 * `examples/kv/adaptive_http.ts`; `GET /status` adds the manager's mode, the
 * agreed mode, the epoch and its engine, and a digest of the store. The admin endpoint (token from the
 * variable the config names, `SWITCHYARD_TOKEN` by default) serves the
 * manager's stats, history, metrics and dashboard.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";
import { CONSENSUS, consoleLogger, fromManifest, ValidationError } from "@switchyard/hybrid";
import { serve } from "@switchyard/hybrid/admin";
import type { AdaptiveConsensus } from "@switchyard/hybrid/consensus-adaptive";
import { HELP_OPTION, parseCommandLine } from "../../tools/cli.ts";
import { adaptiveRoutes } from "../kv/adaptive_http.ts";
import { kvHttpApi } from "../kv/http.ts";
import { KvStore } from "../kv/store.ts";
import { readClusterNodeConfig } from "./config.ts";
import { clusterNodeManifest, splitAddress } from "./manifest.ts";

const USAGE = `usage: node.ts --config FILE [--quiet]

Runs one cluster node from its configuration file (see examples/cluster/config.ts).

options:
  --config FILE   the node's configuration (JSON)
  --quiet         log errors only
  -h, --help      this text

exit codes: 0 stopped by a signal; 1 failed to start; 2 bad usage or a bad configuration`;

const { values } = parseCommandLine("cluster node", USAGE, (args) =>
  parseArgs({
    args,
    strict: true,
    options: { config: { type: "string" }, quiet: { type: "boolean", default: false }, ...HELP_OPTION },
  }));
if (!values.config) {
  console.error("cluster node: --config FILE is required\n(run with --help for usage)");
  process.exit(2);
}
const config = await readClusterNodeConfig(values.config).catch((error) => {
  console.error(error instanceof ValidationError ? error.message : `cluster node: ${error}`);
  process.exit(2);
});
const logger = consoleLogger(values.quiet ? "error" : "warn", `node ${config.id}`);

await mkdir(config.dataDir, { recursive: true });
const manifestPath = join(config.dataDir, "manifest.json");
await writeFile(manifestPath, JSON.stringify(clusterNodeManifest(config), null, 2));
const manager = await fromManifest(manifestPath, { nodeId: config.id, config: config.manager, logger });
const failed = manager.getStats().plugins.filter((plugin) => plugin.state !== "loaded");
if (failed.length > 0) {
  for (const plugin of failed) {
    console.error(`node ${config.id}: plugin ${plugin.id} ${plugin.state}: ${plugin.reason}`);
  }
  await manager.close();
  process.exit(1);
}
await manager.start();
const store = new KvStore(manager.getComponent(CONSENSUS));
await store.start();
const adaptive = store.consensus as AdaptiveConsensus<string | null>;
const adaptiveApi = adaptiveRoutes(() => adaptive as AdaptiveConsensus<unknown>, { measurements: false });
const httpUrls: Record<string, string> = { [config.id]: `http://${config.listen.http}` };
for (const [id, peer] of Object.entries(config.peers)) httpUrls[id] = `http://${peer.http}`;
const api = kvHttpApi({
  consensus: store.consensus,
  machine: store.machine,
  leaderUrl: (leader) => httpUrls[leader] ?? null,
  status: () => {
    const stats = adaptive.adaptiveStats();
    // The store's digest: replicas that applied the same writes have the same one.
    const storeDigest = createHash("sha256").update(store.machine.snapshot()).digest("hex").slice(0, 16);
    return { mode: manager.currentMode, agreed: stats.agreed, epoch: stats.epoch, engine: stats.engine, storeDigest };
  },
  logger,
});
const [hostname, port] = splitAddress(config.listen.http);
const server = await serve({
  hostname,
  port,
  fetch: (request) => adaptiveApi.fetch(request) ?? api.fetch(request),
});
console.log(`ready ${config.id}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.close();
  await store.close();
  await manager.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
