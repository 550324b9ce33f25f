/**
 * Adaptive consensus for applications (`@switchyard/hybrid/consensus-adaptive`):
 * {@linkcode AdaptiveConsensus} runs Raft and PBFT epochs behind one
 * consensus contract and moves the cluster between them, live and both
 * ways, where its log agrees; the handover stores keep the state that starts
 * each epoch ({@linkcode FileHandoverStore}, {@linkcode MemoryHandoverStore}).
 * You give it one factory per engine (each epoch needs storage of its own);
 * `examples/kv/node.ts --engine adaptive` is a complete node. The design is
 * `docs/design/adaptive-consensus.md`.
 *
 * @example
 * ```ts ignore
 * import { AdaptiveConsensus, FileHandoverStore } from "@switchyard/hybrid/consensus-adaptive";
 * const replica = new AdaptiveConsensus({
 *   id, peers, transport, clock, stateMachine, channelKeys: keys.channel,
 *   engines: { raft: (epoch) => makeRaft(epoch), pbft: (epoch) => makePbft(epoch) },
 *   handovers: new FileHandoverStore(dataDir),
 * });
 * await replica.start();
 * await replica.force("internet", "maintenance on the rack switch"); // f + 1 members asking moves the cluster
 * ```
 *
 * @module
 */
export { AdaptiveConsensus, tallyBoundKeys } from "./adaptive.ts";
export type {
  AdaptiveConsensusOptions,
  AdaptiveEvent,
  AdaptiveStats,
  EngineFactory,
  EpochContext,
  EpochEngine,
  EpochStartFailure,
  SwitchRecord,
} from "./adaptive.ts";
export type { EngineName, EpochResult, Handover } from "./epoch_machine.ts";
export { EpochMachine } from "./epoch_machine.ts";
export type { EpochServiceStats } from "./epoch_service.ts";
export { ADAPTIVE_ERRORS } from "./errors.ts";
export type { AdaptiveErrorCode } from "./errors.ts";
export { FileHandoverStore, MemoryHandoverStore } from "./handover_store.ts";
export { discardEpochDirs, epochDir } from "./epoch_dirs.ts";
export type { HandoverStore } from "./handover_store.ts";
