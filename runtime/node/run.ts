/**
 * Runs one node from its configuration (`config.ts`): its manager loaded
 * from the manifest the configuration makes (`manifest.ts`: real probes
 * towards every peer, the adaptive transport, the adaptive consensus,
 * per-mode compressors, the admin endpoint with its dashboard), the
 * replicated key-value store on the consensus the manager serves, and the
 * store's HTTP API (`@switchyard/hybrid/kv`, with `GET /adaptive`; holds go
 * through the admin endpoint, behind its token; `GET /status` adds the manager's mode, the agreed
 * mode, the epoch and its engine, each link's mode by peer, and a digest of the store).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CONSENSUS, type HybridManager, type Logger, SwitchyardError } from "../../mod.ts";
import { serve } from "../../plugins/admin-http/public.ts";
import type { AdaptiveConsensus } from "../../plugins/consensus-adaptive/public.ts";
import { fromManifest } from "../from_manifest.ts";
import { adaptiveRoutes, kvHttpApi, KvStore } from "../kv/mod.ts";
import type { ClusterNodeConfig } from "./config.ts";
import { clusterNodeManifest } from "./manifest.ts";
import { parseAddress } from "../../plugins/transport-tcp/mod.ts";

/** A running node. */
export interface RunningNode {
  /** Its manager. */
  manager: HybridManager;
  /** The replicated store. */
  store: KvStore;
  /** Stops the HTTP API, the store and the manager (every plugin it loaded). */
  close(): Promise<void>;
}

/**
 * Starts the node `config` describes. A plugin that does not load fails the
 * start (`PLUGIN_FAILED`, naming each plugin and why), a key-value address
 * that cannot be bound fails it naming `listen.http`; either way what was
 * started is closed first.
 */
export async function runNode(config: ClusterNodeConfig, logger: Logger): Promise<RunningNode> {
  await mkdir(config.dataDir, { recursive: true });
  const manifestPath = join(config.dataDir, "manifest.json");
  await writeFile(manifestPath, JSON.stringify(clusterNodeManifest(config), null, 2));
  const manager = await fromManifest(manifestPath, { nodeId: config.id, config: config.manager, logger });
  const failed = manager.getStats().plugins.filter((plugin) => plugin.state !== "loaded");
  if (failed.length > 0) {
    await manager.close();
    const reasons = failed.map((plugin) => `${plugin.id} ${plugin.state}: ${plugin.reason}`).join("; ");
    throw new SwitchyardError("PLUGIN_FAILED", `node ${config.id}: ${reasons}`);
  }
  let store: KvStore | undefined;
  try {
    await manager.start();
    store = new KvStore(manager.getComponent(CONSENSUS));
    await store.start();
    return await serveNode(config, manager, store, logger);
  } catch (error) {
    await store?.close().catch(() => {});
    await manager.close().catch(() => {});
    throw error;
  }
}

/** The key-value API of a started node, at `config.listen.http`. */
async function serveNode(
  config: ClusterNodeConfig,
  manager: HybridManager,
  store: KvStore,
  logger: Logger,
): Promise<RunningNode> {
  const adaptive = store.consensus as AdaptiveConsensus<string | null>;
  // Read-only here: holds go through the admin endpoint, behind its token (switchyard mode set).
  const adaptiveApi = adaptiveRoutes(() => adaptive as AdaptiveConsensus<unknown>, {
    measurements: false,
    force: false,
  });
  // The store's digest (replicas that applied the same writes have the same one), computed once per applied index.
  let digest = { appliedIndex: -1, value: "" };
  const storeDigest = () => {
    const appliedIndex = store.consensus.stats().appliedIndex;
    if (appliedIndex !== digest.appliedIndex) {
      digest = {
        appliedIndex,
        value: createHash("sha256").update(store.machine.snapshot()).digest("hex").slice(0, 16),
      };
    }
    return digest.value;
  };
  const httpUrls: Record<string, string> = { [config.id]: `http://${config.listen.http}` };
  for (const [id, peer] of Object.entries(config.peers)) httpUrls[id] = `http://${peer.http}`;
  const api = kvHttpApi({
    consensus: store.consensus,
    machine: store.machine,
    leaderUrl: (leader) => httpUrls[leader] ?? null,
    status: () => {
      const stats = adaptive.adaptiveStats();
      return {
        mode: manager.currentMode,
        agreed: stats.agreed,
        epoch: stats.epoch,
        engine: stats.engine,
        // Each link's mode, by peer (the link named by the peer's probe address, as the probes name it).
        links: Object.fromEntries(Object.entries(config.peers).map(([id, peer]) => [id, manager.linkMode(peer.probe)])),
        storeDigest: storeDigest(),
      };
    },
    logger,
  });
  const { hostname, port } = parseAddress(config.listen.http);
  const server = await serve({ hostname, port, fetch: (request) => adaptiveApi.fetch(request) ?? api.fetch(request) })
    .catch((error) => {
      throw new SwitchyardError("CONFIG_INVALID", `listen.http ${config.listen.http}: ${(error as Error).message}`);
    });
  return {
    manager,
    store,
    async close() {
      await server.close();
      await store.close();
      await manager.close();
    },
  };
}
