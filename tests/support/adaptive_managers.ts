/**
 * Four managers made from manifests, as an application makes them, whose
 * consensus is consensus-adaptive (so their stats carry the cluster's mode
 * agreement) over one memory network, each with probe-rtt measuring the
 * three others per peer and a replayed link: a rack first, then a WAN. The
 * first node has the admin endpoint, started before the managers so that
 * it sees the agreement from its first decision. Real time.
 *
 * @module
 */
import { CONSENSUS, fromManifest, type HybridManager, silentLogger } from "../../mod.ts";
import { instantiate, RecordingMachine } from "../../testing/mod.ts";
import admin, { type AdminHttp } from "../../plugins/admin-http/mod.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import type { AdaptiveConsensus } from "../../plugins/consensus-adaptive/mod.ts";
import { MemoryHost } from "./memory_host.ts";
import { testIdentities, testReplicaSecret } from "./pbft_consensus_cluster.ts";

const IDS = ["n1", "n2", "n3", "n4"];
const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

/** The running cluster. */
export interface AdaptiveManagers {
  /** The member ids, n1 first. */
  ids: string[];
  /** Each member's manager. */
  managers: HybridManager[];
  /** Each member's adaptive replica (made by its consensus component). */
  engines: AdaptiveConsensus<unknown>[];
  /** n1's admin endpoint. */
  admin: AdminHttp;
  /** Stops the endpoint, the engines and the managers. */
  close(): Promise<void>;
}

/** Options of {@linkcode startAdaptiveManagers}. */
export interface AdaptiveManagersOptions {
  /** The memory network's name (one per test). */
  network: string;
  /** n1's admin token. */
  token: string;
  /** How long the replayed link is a rack before it turns to a WAN (default 3000 ms). */
  rackMs?: number;
}

/** What {@linkcode adaptiveManifest} puts in a member's manifest. */
export interface AdaptiveManifestOptions {
  /** The memory network's name (one per test). */
  network: string;
  /** Every member's PBFT identity (`testIdentities`). */
  identities: Record<string, string>;
  /** How long the replayed link is a rack before it turns to a WAN (default 3000 ms). */
  rackMs?: number;
  /** Also measure the three other members with probe-rtt, per peer. */
  rtt?: boolean;
}

/**
 * The manifest of member `id` of four (n1…n4): the memory transport, a
 * replayed link (a rack, then a WAN), optionally probe-rtt towards the
 * others, and consensus-adaptive in every mode, tuned for tests (5 ms
 * ticks, reports every 50 ms, no cooldown).
 */
export function adaptiveManifest(id: string, options: AdaptiveManifestOptions): Record<string, unknown> {
  const peers = Object.fromEntries(IDS.map((member) => [member, `${options.network}-${member}`]));
  const probeAddress = (member: string) => `${options.network}-probe-${member}`;
  const rtt = {
    id: "probe-rtt",
    module: "builtin:probe-rtt",
    options: {
      name: "rtt",
      listen: probeAddress(id),
      peers: IDS.filter((other) => other !== id).map(probeAddress),
      pings: 2,
      pingTimeoutMs: 150,
    },
  };
  return {
    plugins: [
      {
        id: "transport-memory",
        module: "builtin:transport-memory",
        options: { network: options.network, address: peers[id], link: { delayMs: 1 } },
      },
      {
        id: "probe-replay",
        module: "builtin:probe-replay",
        options: {
          name: "replay",
          steps: [
            { durationMs: options.rackMs ?? 3_000, rttMs: 0.3, bandwidthMbps: 20_000, lossRatio: 0 },
            { durationMs: 600_000, rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 },
          ],
        },
      },
      ...(options.rtt ? [rtt] : []),
      {
        id: "consensus-adaptive",
        module: "builtin:consensus-adaptive",
        options: {
          nodeId: id,
          peers,
          identities: options.identities,
          secret: hex(testReplicaSecret(id)),
          tickMs: 5,
          reportEveryMs: 50,
          cooldownMs: 0,
          graceMs: 500,
        },
      },
    ],
    slots: {
      consensus: { datacenter: "consensus-adaptive", hybrid: "consensus-adaptive", internet: "consensus-adaptive" },
      probes: ["probe-replay", ...(options.rtt ? ["probe-rtt"] : [])],
    },
  };
}

/** Polls `check` every 10 ms until it holds, or throws naming `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Starts the four managers and their engines, and n1's admin endpoint. */
export async function startAdaptiveManagers(options: AdaptiveManagersOptions): Promise<AdaptiveManagers> {
  const identities = await testIdentities(IDS);
  const managers: HybridManager[] = [];
  const engines: AdaptiveConsensus<unknown>[] = [];
  let endpoint: AdminHttp | undefined;
  const close = async () => {
    await endpoint?.close();
    await Promise.all(engines.map((engine) => engine.close()));
    for (const manager of managers) await manager.close();
  };
  try {
    for (const id of IDS) {
      const host = new MemoryHost();
      host.write(
        "m.json",
        JSON.stringify(
          adaptiveManifest(id, { network: options.network, identities, rackMs: options.rackMs, rtt: true }),
        ),
      );
      managers.push(
        await fromManifest("m.json", {
          host,
          builtins: BUILTIN_PLUGINS,
          logger: silentLogger,
          nodeId: id,
          config: { detectionIntervalMs: 200, sampleWindow: 1, cooldownMs: 0 },
        }),
      );
    }
    endpoint = await instantiate(admin, { port: 0, token: options.token, heartbeatMs: 1_000 }, { host: managers[0] });
    for (const manager of managers) await manager.start();
    for (const manager of managers) {
      engines.push(manager.getComponent(CONSENSUS).create(new RecordingMachine()) as AdaptiveConsensus<unknown>);
    }
    await Promise.all(engines.map((engine) => engine.start()));
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
  return { ids: IDS, managers, engines, admin: endpoint, close };
}
