/**
 * `consensus-adaptive`, in progress (issue 15; the plan is
 * `docs/design/adaptive-consensus.md`): so far the codec of its log's entries
 * and the state machine of one epoch (which seals the epoch at the entry
 * where the cluster agreed to change engines, with the next epoch's initial
 * state). The engine that runs Raft and PBFT epochs over a transport and
 * moves a running cluster between them is not built yet and is not a plugin
 * yet; the manifest cannot name it.
 *
 * @module
 */
export { decodeEntry, encodeEntry, ENTRY_TAGS, MAX_MEMBER_BYTES, MAX_REASON_BYTES } from "./entries.ts";
export type { AdaptiveEntry, CommandEntry } from "./entries.ts";
export { EpochMachine } from "./epoch_machine.ts";
export type { EngineName, EpochMachineOptions, EpochResult, Handover } from "./epoch_machine.ts";
