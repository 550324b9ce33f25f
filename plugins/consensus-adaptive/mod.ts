/**
 * `consensus-adaptive`: Raft and PBFT behind one consensus contract, and a
 * cluster that moves between them live, both ways, at an index its log
 * agrees on (issue 15; the plan is `docs/design/adaptive-consensus.md`).
 * {@linkcode AdaptiveConsensus} runs epochs of either engine over channels of
 * one transport, decides changes with the deterministic mode tally over the
 * members' reports, and hands the state over at the seal. Not a manifest
 * plugin yet: build it with engine factories (see `AdaptiveConsensusOptions`).
 *
 * @module
 */
export { AdaptiveConsensus } from "./adaptive.ts";
export type {
  AdaptiveConsensusOptions,
  AdaptiveEvent,
  AdaptiveStats,
  EngineFactory,
  EpochContext,
  EpochEngine,
  SwitchRecord,
} from "./adaptive.ts";
export { decodeEntry, encodeEntry, ENTRY_TAGS, MAX_MEMBER_BYTES, MAX_REASON_BYTES } from "./entries.ts";
export type { AdaptiveEntry, CommandEntry } from "./entries.ts";
export { EpochMachine } from "./epoch_machine.ts";
export type { EngineName, EpochMachineOptions, EpochResult, Handover } from "./epoch_machine.ts";
export { EpochService } from "./epoch_service.ts";
export type { EpochServiceOptions, EpochServiceStats } from "./epoch_service.ts";
export { ADAPTIVE_ERRORS } from "./errors.ts";
export type { AdaptiveErrorCode } from "./errors.ts";
export {
  decodeHandover,
  encodeHandover,
  FileHandoverStore,
  handoverDigest,
  MemoryHandoverStore,
} from "./handover_store.ts";
export type { HandoverStore } from "./handover_store.ts";
