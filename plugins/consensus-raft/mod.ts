/**
 * `consensus-raft`: Raft for datacenter mode. A pure state machine
 * ({@linkcode Raft}) in the manner of etcd-io/raft, a driver
 * ({@linkcode RaftConsensus}) that binds it to a transport, a storage and the
 * application's state machine behind the core's consensus contract, and two
 * storages: {@linkcode MemoryStorage} and the file write-ahead log
 * {@linkcode FileWal}.
 *
 * As a plugin it gives the manager a {@linkcode ConsensusEngine}; it needs a
 * plugin providing `transport`. Peer messages are authenticated with the
 * cluster secret (`clusterKey`, `clusterKeyFile` or `clusterKeyEnv`, the same
 * on every node); running without it takes an explicit `insecureNoAuth: true`.
 *
 * @example Manifest entry
 * ```json
 * { "id": "consensus-raft", "module": "builtin:consensus-raft",
 *   "options": { "nodeId": "n1", "peers": { "n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002", "n3": "127.0.0.1:7003" },
 *                "dataDir": "/var/lib/switchyard/n1", "clusterKeyFile": "/etc/switchyard/cluster.key" } }
 * ```
 *
 * @module
 */
import { TRANSPORT_CAPABILITY } from "../../core/loading/capability.ts";
import { ValidationError } from "../../core/util/errors.ts";
import * as v from "valibot";
import { DEFAULT_CLIENT_TABLE_LIMITS } from "../consensus-kit/client_table.ts";
import type { ConsensusEngine } from "../../core/contracts/consensus.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import {
  clusterKeyChoice,
  clusterKeyOptionEntries,
  clusterKeys,
  loadClusterKey,
  MAX_NODE_ID_BYTES,
} from "../peer-auth/mod.ts";
import { RaftConsensus } from "./driver.ts";
import { FileWal } from "./file_wal.ts";
import { DEFAULT_RAFT_CONFIG } from "./raft.ts";
import { MemoryStorage } from "./storage.ts";

export * from "./public.ts";
export { initialState, Raft } from "./raft.ts";

const positiveInteger = v.pipe(v.number(), v.integer(), v.minValue(1));

const nodeId = v.pipe(
  v.string(),
  v.minLength(1),
  v.check((id) => new TextEncoder().encode(id).byteLength <= MAX_NODE_ID_BYTES, "must be at most 255 bytes of UTF-8"),
);

const fields = v.strictObject({
  /** This node's id (1 to 255 bytes of UTF-8). */
  nodeId,
  /** Transport address of every initial member, this node included. */
  peers: v.pipe(
    v.record(nodeId, v.pipe(v.string(), v.minLength(1))),
    v.check((peers) => Object.keys(peers).length > 0, "list at least this node"),
  ),
  ...clusterKeyOptionEntries,
  /** Start outside the membership and wait to be added by the leader. */
  join: v.optional(v.boolean(), false),
  /** Directory of the file write-ahead log; without it the log is kept in memory only (not durable). */
  dataDir: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** Milliseconds per Raft tick. */
  tickMs: v.optional(positiveInteger, 10),
  /** Election timeout in ticks (randomized up to twice this). */
  electionTicks: v.optional(positiveInteger, DEFAULT_RAFT_CONFIG.electionTicks),
  /** Heartbeat interval in ticks. */
  heartbeatTicks: v.optional(positiveInteger, DEFAULT_RAFT_CONFIG.heartbeatTicks),
  /** Pre-vote before campaigning. */
  preVote: v.optional(v.boolean(), DEFAULT_RAFT_CONFIG.preVote),
  /** Leader steps down without a live quorum. */
  checkQuorum: v.optional(v.boolean(), DEFAULT_RAFT_CONFIG.checkQuorum),
  /** Appends in flight per follower. */
  maxInflight: v.optional(positiveInteger, DEFAULT_RAFT_CONFIG.maxInflight),
  /** Bytes of entries per append message. */
  maxBatchBytes: v.optional(positiveInteger, DEFAULT_RAFT_CONFIG.maxBatchBytes),
  /** Snapshot after this many applied entries. */
  snapshotEveryEntries: v.optional(positiveInteger, 10_000),
  /** Default limit of proposals and reads. */
  timeoutMs: v.optional(positiveInteger, 5000),
  /** Clients the deduplication table tracks at most (the same on every replica). */
  deduplicationMaxClients: v.optional(positiveInteger, DEFAULT_CLIENT_TABLE_LIMITS.maxClients),
  /** Bytes of cached results the deduplication table holds at most (the same on every replica). */
  deduplicationMaxCachedBytes: v.optional(positiveInteger, DEFAULT_CLIENT_TABLE_LIMITS.maxCachedBytes),
});

/** The options: the fields, with exactly one cluster key source (or `insecureNoAuth`). */
const options = v.pipe(fields, clusterKeyChoice());

/** The options, validated. */
export type RaftPluginOptions = v.InferOutput<typeof options>;

/** The plugin. */
const plugin: Plugin<"consensus", RaftPluginOptions, ConsensusEngine> = builtinPlugin({
  id: "consensus-raft",
  kind: "consensus",
  description: "Raft: pre-vote, pipelined replication, snapshots, membership changes, ReadIndex, leader transfer.",
  modes: ["datacenter", "hybrid"],
  provides: ["consensus", "consensus:raft"],
  requires: [TRANSPORT_CAPABILITY.name],
  permissions: ["read", "write"],
  options,
  async create(context, config) {
    if (!config.peers[config.nodeId]) {
      throw new ValidationError("CONFIG_INVALID", "consensus-raft options", [
        { path: `peers.${config.nodeId}`, message: "peers must include this node's own address" },
      ]);
    }
    if (!config.dataDir) context.logger.warn("consensus-raft keeps its log in memory: set dataDir for durability");
    const secret = await loadClusterKey(config);
    const peerAuth = secret ? { keys: clusterKeys(secret), maxClockSkewMs: config.maxClockSkewMs } : "none" as const;
    const transport = context.require(TRANSPORT_CAPABILITY);
    return {
      name: "raft",
      create: (stateMachine) =>
        new RaftConsensus({
          id: config.nodeId,
          peers: config.peers,
          join: config.join,
          transport,
          peerAuth,
          storage: config.dataDir ? new FileWal(config.dataDir) : new MemoryStorage(),
          stateMachine,
          clock: context.clock,
          tickMs: config.tickMs,
          snapshotEveryEntries: config.snapshotEveryEntries,
          timeoutMs: config.timeoutMs,
          logger: context.logger,
          deduplication: {
            maxClients: config.deduplicationMaxClients,
            maxCachedBytes: config.deduplicationMaxCachedBytes,
          },
          raft: {
            electionTicks: config.electionTicks,
            heartbeatTicks: config.heartbeatTicks,
            preVote: config.preVote,
            checkQuorum: config.checkQuorum,
            maxInflight: config.maxInflight,
            maxBatchBytes: config.maxBatchBytes,
          },
        }),
    };
  },
});
export default plugin;
