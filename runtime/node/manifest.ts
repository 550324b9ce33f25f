/**
 * The plugin manifest of one cluster node, made from its configuration: the
 * adaptive transport (RDMA where a device answers, TCP otherwise) with each
 * link's frames compressed by its mode's compressor (`transport-links`), the RTT
 * and bandwidth probes over it towards every peer, the adaptive consensus in
 * every mode, LZ4 / zstd / the adaptive compressor per mode, and the admin
 * endpoint with its dashboard.
 *
 * @module
 */
import { parseAddress } from "../../plugins/transport-tcp/mod.ts";
import type { ClusterNodeConfig } from "./config.ts";

/** The manifest (as JSON data) for the node `config` describes. */
export function clusterNodeManifest(config: ClusterNodeConfig): Record<string, unknown> {
  const peers = Object.values(config.peers);
  const admin = parseAddress(config.listen.admin);
  const every = (id: string) => ({ datacenter: id, hybrid: id, internet: id });
  return {
    plugins: [
      // Large frames: a handover carries the whole store. First of the transports: the probes measure over it, raw.
      { id: "transport-adaptive", module: "builtin:transport-adaptive", options: { maxFrameBytes: 64 * 1024 * 1024 } },
      // The consensus's wire (`uses` below): the adaptive transport with each link's frames compressed by the
      // compressor of that link's mode, the link named by its peer's probe address (as the probes name the peer).
      {
        id: "transport-links",
        module: "builtin:transport-links",
        options: { links: Object.fromEntries(peers.map((peer) => [peer.transport, peer.probe])) },
      },
      {
        id: "probe-rtt",
        module: "builtin:probe-rtt",
        // Each measurement's own pings (the smallest of three): a longer filter would hide a link getting worse.
        options: { peers: peers.map((peer) => peer.probe), listen: config.listen.probe, pings: 3, filterWindow: 1 },
      },
      {
        id: "probe-bandwidth",
        module: "builtin:probe-bandwidth",
        options: {
          peers: peers.map((peer) => peer.probe),
          budgetBytes: config.probes.bandwidthBudgetBytes,
          filterWindow: 1,
        },
      },
      {
        id: "consensus-adaptive",
        module: "builtin:consensus-adaptive",
        uses: { transport: "transport-links" },
        options: {
          nodeId: config.id,
          peers: {
            [config.id]: config.listen.transport,
            ...Object.fromEntries(Object.entries(config.peers).map(([id, peer]) => [id, peer.transport])),
          },
          identities: config.identities,
          secretFile: config.secretFile,
          dataDir: config.dataDir,
          ...config.consensus,
        },
      },
      { id: "compress-lz4", module: "builtin:compress-lz4" },
      { id: "compress-zstd", module: "builtin:compress-zstd", options: { level: config.compression.zstdLevel } },
      { id: "compress-adaptive", module: "builtin:compress-adaptive" },
      {
        id: "admin-http",
        module: "builtin:admin-http",
        options: { hostname: admin.hostname, port: admin.port, tokenEnv: config.adminTokenEnv },
      },
    ],
    slots: {
      transport: every("transport-adaptive"),
      consensus: every("consensus-adaptive"),
      compression: { datacenter: "compress-lz4", hybrid: "compress-adaptive", internet: "compress-zstd" },
      probes: ["probe-rtt", "probe-bandwidth"],
    },
  };
}
