/**
 * `consensus-adaptive`: Raft and PBFT behind one consensus contract, and a
 * cluster that moves between them live, both ways, at an index its log
 * agrees on (issue 15; the plan is `docs/design/adaptive-consensus.md`).
 * {@linkcode AdaptiveConsensus} runs epochs of either engine over channels of
 * one transport, decides changes with the deterministic mode tally over the
 * members' reports, and hands the state over at the seal.
 *
 * As a plugin (`builtin:consensus-adaptive`) it serves the consensus slot in
 * every mode: the manager's medians are this node's reports (every
 * `reportEveryMs`, from the time the manager's window can be full:
 * `sampleWindow × detectionIntervalMs` after the replica is made), and the cluster, not
 * the node, decides when the engine changes. It needs a plugin providing `transport`, and the PBFT keys of
 * `consensus-pbft` (every member's identity, this replica's secret).
 *
 * @example Manifest entry
 * ```json
 * { "id": "consensus-adaptive", "module": "builtin:consensus-adaptive",
 *   "options": { "nodeId": "n1",
 *                "peers": { "n1": "127.0.0.1:7001", "n2": "127.0.0.1:7002", "n3": "127.0.0.1:7003", "n4": "127.0.0.1:7004" },
 *                "identities": { "n1": "…", "n2": "…", "n3": "…", "n4": "…" },
 *                "secretFile": "/etc/switchyard/n1.secret", "dataDir": "/var/lib/switchyard/n1" } }
 * ```
 *
 * @module
 */
import * as v from "valibot";
import type { ConsensusEngine, ConsensusStateMachine } from "../../core/contracts/consensus.ts";
import type { ModeAgreement } from "../../core/contracts/mode_agreement.ts";
import { MODES } from "../../core/contracts/mode.ts";
import { MEASURES, type NetworkSample } from "../../core/contracts/sample.ts";
import { TRANSPORT_CAPABILITY } from "../../core/loading/capability.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import {
  EVERY_IDENTITY,
  hasEveryIdentity,
  hasOneSecret,
  loadReplicaKeys,
  ONE_SECRET,
  replicaKeyOptionEntries,
} from "../consensus-pbft/key_options.ts";
import {
  domainSigner,
  domainVerifier,
  FilePbftStorage,
  MemoryPbftStorage,
  PbftConsensus,
} from "../consensus-pbft/mod.ts";
import { FileWal, MemoryStorage, RaftConsensus } from "../consensus-raft/mod.ts";
import { AdaptiveConsensus } from "./adaptive.ts";
import { FileHandoverStore, MemoryHandoverStore } from "./handover_store.ts";
import { discardEpochDirs, epochDir } from "./epoch_dirs.ts";
// What applications import (`@switchyard/hybrid/consensus-adaptive`), and beside it the parts tests and tools use.
export * from "./public.ts";
export { decodeEntry, encodeEntry, ENTRY_TAGS, MAX_MEMBER_BYTES, MAX_REASON_BYTES } from "./entries.ts";
export type { AdaptiveEntry, CommandEntry } from "./entries.ts";
export type { EpochMachineOptions } from "./epoch_machine.ts";
export { EpochService } from "./epoch_service.ts";
export type { EpochServiceOptions } from "./epoch_service.ts";
export { decodeHandover, encodeHandover, handoverDigest } from "./handover_store.ts";

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
    /** Transport address of every replica, this one included (4 or more for PBFT epochs). */
    peers: v.pipe(
      v.record(id, v.pipe(v.string(), v.minLength(1))),
      v.check((peers) => Object.keys(peers).length > 0, "list at least this replica"),
    ),
    ...replicaKeyOptionEntries,
    /** Directory of the handover and of each epoch's log (`epoch-<n>/`); without it all is in memory (not durable). */
    dataDir: v.optional(v.pipe(v.string(), v.minLength(1))),
    /** Milliseconds per engine tick. */
    tickMs: v.optional(positiveInteger, 10),
    /** Default limit of proposals and reads across epochs, ms. */
    timeoutMs: v.optional(positiveInteger, 5000),
    /** How often this node reports the manager's medians, ms. */
    reportEveryMs: v.optional(positiveInteger, 1000),
    /** Shortest time between two decided changes, on the members' robust clock, ms. */
    cooldownMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 30_000),
    /** How long a sealed epoch's engine keeps serving laggards, ms. */
    graceMs: v.optional(positiveInteger, 2000),
    /** The mode before any decision. */
    initialMode: v.optional(v.picklist(MODES), "datacenter"),
    /** Largest clock difference between replicas, ms. */
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
export type AdaptivePluginOptions = v.InferOutput<typeof options>;

/** The plugin. */
const plugin: Plugin<"consensus", AdaptivePluginOptions, ConsensusEngine> = builtinPlugin({
  id: "consensus-adaptive",
  kind: "consensus",
  description:
    "Raft and PBFT behind one contract; the cluster agrees on its mode and switches engines live, both ways.",
  modes: ["datacenter", "hybrid", "internet"],
  provides: ["consensus", "consensus:adaptive"],
  requires: [TRANSPORT_CAPABILITY.name],
  permissions: ["read", "write", "env"],
  options,
  async create(context, config) {
    const keys = await loadReplicaKeys(config, "consensus-adaptive");
    if (!config.dataDir) context.logger.warn("consensus-adaptive keeps its logs in memory: set dataDir for durability");
    const transport = context.require(TRANSPORT_CAPABILITY);
    const logDir = (epoch: number) => epochDir(config.dataDir!, epoch);
    const common = {
      id: config.nodeId,
      peers: config.peers,
      clock: context.clock,
      tickMs: config.tickMs,
      timeoutMs: config.timeoutMs,
      logger: context.logger,
    };
    let latest: ModeAgreement | undefined;
    const engine: ConsensusEngine & { readonly agreement: ModeAgreement | undefined } = {
      name: "adaptive",
      // The manager's switches report to it and wait for the cluster's decision (`modeAgreementOf`).
      get agreement() {
        return latest;
      },
      create: <Result>(stateMachine: ConsensusStateMachine<Result>) => {
        const windowFullAtMs = context.clock.now() + context.config.sampleWindow * context.config.detectionIntervalMs;
        // What this member puts before the cluster: the manager's medians once its window is full (a median of
        // the first sample or two of a process that just started, cold code and connections still opening, is
        // its noise, and three members' such reports decided a spurious switch at a cluster's start), and only
        // medians of every measure (a member that could not measure one, its RTT probe not answered yet while
        // its peers still start, would classify it "not measured", never datacenter: a partial view does not
        // vote). Both the periodic reports and the manager's own at its switches go through this.
        const reportable = (sample: NetworkSample) =>
          context.clock.now() >= windowFullAtMs && MEASURES.every((measure) => sample[measure] !== undefined);
        const replica = new AdaptiveConsensus<Result>({
          id: config.nodeId,
          peers: config.peers,
          transport,
          clock: context.clock,
          stateMachine,
          channelKeys: keys.channel,
          handovers: config.dataDir ? new FileHandoverStore(config.dataDir) : new MemoryHandoverStore(),
          ...(config.dataDir
            ? { discardEpochsBefore: (epoch: number) => discardEpochDirs(config.dataDir!, epoch) }
            : {}),
          initialMode: config.initialMode,
          cooldownMs: config.cooldownMs,
          graceMs: config.graceMs,
          timeoutMs: config.timeoutMs,
          maxClockSkewMs: config.maxClockSkewMs,
          reportEveryMs: config.reportEveryMs,
          // The tally classifies the members' medians by this node's detector thresholds (every member's
          // manager should share them: the tally is only deterministic if every replica's is the same).
          thresholds: context.config,
          measure: () => {
            const sample = context.network();
            return reportable(sample) ? sample : undefined;
          },
          logger: context.logger,
          engines: {
            raft: (epoch) =>
              new RaftConsensus({
                ...common,
                transport: epoch.transport,
                peerAuth: { keys: epoch.keys, startedAtMs: epoch.startedAtMs, maxClockSkewMs: config.maxClockSkewMs },
                firstLeader: epoch.firstLeader,
                storage: config.dataDir ? new FileWal(logDir(epoch.epoch)) : new MemoryStorage(),
                stateMachine: epoch.stateMachine,
              }),
            pbft: (epoch) =>
              new PbftConsensus({
                ...common,
                transport: epoch.transport,
                storage: config.dataDir ? new FilePbftStorage(logDir(epoch.epoch)) : new MemoryPbftStorage(),
                stateMachine: epoch.stateMachine,
                signer: domainSigner(keys.signer, `switchyard epoch ${epoch.epoch}`),
                verifier: domainVerifier(keys.verifier, `switchyard epoch ${epoch.epoch}`),
                channelKeys: epoch.keys,
                channelStartedAtMs: epoch.startedAtMs,
                maxClockSkewMs: config.maxClockSkewMs,
              }),
          },
        });
        latest = {
          report: (summary) => reportable(summary) ? replica.report(summary) : Promise.resolve("not reported"),
          agreementStats: () => replica.agreementStats(),
          force: (mode, reason) => replica.force(mode, reason),
        };
        return replica;
      },
    };
    return engine;
  },
});

export default plugin;
