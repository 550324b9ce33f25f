/**
 * `consensus-pbft`: Practical Byzantine Fault Tolerance for internet mode.
 * With 3f + 1 replicas it keeps a replicated log safe while up to f of them
 * are Byzantine (lie, equivocate, forge, replay, stay silent), and live once
 * the network delivers messages in bounded time. A pure state machine
 * ({@linkcode Pbft}), a driver ({@linkcode PbftConsensus}) behind the core's
 * consensus contract, durable storage ({@linkcode FilePbftStorage}), the
 * replicated service with its client tables ({@linkcode PbftService}), and an
 * outside client that trusts no single replica ({@linkcode PbftClient}).
 *
 * Each replica has a secret of its own ({@linkcode generateReplicaSecret}
 * makes one, {@linkcode identityOf} gives its public identity;
 * `examples/kv/cluster.ts` does both); every replica lists every member's
 * identity.
 *
 * As a plugin it gives the manager a {@linkcode ConsensusEngine}; it needs a
 * plugin providing `transport`.
 *
 * @example Manifest entry
 * ```json
 * { "id": "consensus-pbft", "module": "builtin:consensus-pbft",
 *   "options": { "nodeId": "n1",
 *                "peers": { "n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002", "n3": "127.0.0.1:7003", "n4": "127.0.0.1:7004" },
 *                "identities": { "n1": "…", "n2": "…", "n3": "…", "n4": "…" },
 *                "secretFile": "/etc/switchyard/n1.secret", "dataDir": "/var/lib/switchyard/n1" } }
 * ```
 *
 * @module
 */
import { TRANSPORT_CAPABILITY } from "../../core/loading/capability.ts";
import * as v from "valibot";
import type { ConsensusEngine } from "../../core/contracts/consensus.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { PbftConsensus } from "./driver.ts";
import {
  EVERY_IDENTITY,
  hasEveryIdentity,
  hasOneSecret,
  loadReplicaKeys,
  ONE_SECRET,
  replicaKeyOptionEntries,
} from "./key_options.ts";
import { DEFAULT_PBFT_CONFIG } from "./pbft.ts";
import { FilePbftStorage, MemoryPbftStorage } from "./storage.ts";

export * from "./public.ts";
export { Pbft } from "./pbft.ts";
export { PbftService } from "./service.ts";
export { Membership } from "./membership.ts";

const positiveInteger = v.pipe(v.number(), v.integer(), v.minValue(1));
const id = v.pipe(
  v.string(),
  v.minLength(1),
  v.maxLength(255),
  v.check((text) => !text.includes("#"), "must not contain '#'"),
);

const options = v.pipe(
  v.strictObject({
    /** This replica's id. */
    nodeId: id,
    /** Transport address of every replica (3f + 1 of them), this one included. */
    peers: v.pipe(
      v.record(id, v.pipe(v.string(), v.minLength(1))),
      v.check((peers) => Object.keys(peers).length > 0, "list at least this replica"),
    ),
    ...replicaKeyOptionEntries,
    /** Directory of the durable log; without it the log is kept in memory only (not durable). */
    dataDir: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Milliseconds per tick. */
    tickMs: v.optional(positiveInteger, 10),
    /** Default limit of proposals and reads, ms. */
    timeoutMs: v.optional(positiveInteger, 5000),
    /** Requests this replica keeps outstanding at once. */
    lanes: v.optional(positiveInteger, 8),
    /** Sequences between checkpoints. */
    checkpointInterval: v.optional(positiveInteger, DEFAULT_PBFT_CONFIG.checkpointInterval),
    /** Sequences the primary may run ahead of the stable checkpoint. */
    windowSize: v.optional(positiveInteger, DEFAULT_PBFT_CONFIG.windowSize),
    /** Requests per batch. */
    maxBatchRequests: v.optional(positiveInteger, DEFAULT_PBFT_CONFIG.maxBatchRequests),
    /** Ticks a batch may wait to fill while others are in flight (0: never). */
    batchDelayTicks: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), DEFAULT_PBFT_CONFIG.batchDelayTicks),
    /** Batches in flight at once. */
    maxInflightBatches: v.optional(positiveInteger, DEFAULT_PBFT_CONFIG.maxInflightBatches),
    /** Ticks a backup waits for a request before starting a view change. */
    requestTimeoutTicks: v.optional(positiveInteger, DEFAULT_PBFT_CONFIG.requestTimeoutTicks),
    /** Ticks to wait for a new view (doubled after each view change that fails). */
    viewChangeTimeoutTicks: v.optional(positiveInteger, DEFAULT_PBFT_CONFIG.viewChangeTimeoutTicks),
    /** Largest clock difference between replicas, ms (the channel's replay protection relies on it). */
    maxClockSkewMs: v.optional(positiveInteger, 250),
  }),
  v.forward(
    v.check((config) => Boolean(config.peers[config.nodeId]), "must include this replica's own address"),
    ["peers"],
  ),
  v.forward(v.check((config) => hasEveryIdentity(config), EVERY_IDENTITY), ["identities"]),
  v.forward(v.check((config) => hasOneSecret(config), ONE_SECRET), ["secret"]),
);

/** The options, validated. */
export type PbftPluginOptions = v.InferOutput<typeof options>;

/** The plugin. */
const plugin: Plugin<"consensus", PbftPluginOptions, ConsensusEngine> = builtinPlugin({
  id: "consensus-pbft",
  kind: "consensus",
  description: "PBFT: f Byzantine replicas of 3f + 1 tolerated; batching, checkpoints, view changes, state transfer.",
  modes: ["internet", "hybrid"],
  provides: ["consensus", "consensus:pbft"],
  requires: [TRANSPORT_CAPABILITY.name],
  permissions: ["read", "write", "env"],
  options,
  async create(context, config) {
    const keys = await loadReplicaKeys(config, "consensus-pbft");
    if (!config.dataDir) context.logger.warn("consensus-pbft keeps its log in memory: set dataDir for durability");
    const transport = context.require(TRANSPORT_CAPABILITY);
    return {
      name: "pbft",
      create: (stateMachine) =>
        new PbftConsensus({
          id: config.nodeId,
          peers: config.peers,
          transport,
          storage: config.dataDir ? new FilePbftStorage(config.dataDir) : new MemoryPbftStorage(),
          stateMachine,
          clock: context.clock,
          signer: keys.signer,
          verifier: keys.verifier,
          channelKeys: keys.channel,
          maxClockSkewMs: config.maxClockSkewMs,
          tickMs: config.tickMs,
          timeoutMs: config.timeoutMs,
          lanes: config.lanes,
          logger: context.logger,
          pbft: {
            checkpointInterval: config.checkpointInterval,
            windowSize: config.windowSize,
            maxBatchRequests: config.maxBatchRequests,
            batchDelayTicks: config.batchDelayTicks,
            maxInflightBatches: config.maxInflightBatches,
            requestTimeoutTicks: config.requestTimeoutTicks,
            viewChangeTimeoutTicks: config.viewChangeTimeoutTicks,
          },
        }),
    };
  },
});
export default plugin;
