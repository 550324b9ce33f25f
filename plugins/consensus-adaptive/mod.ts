/**
 * `consensus-adaptive`, in progress (issue 15; the plan is
 * `docs/design/adaptive-consensus.md`): so far only the codec of its log's
 * entries. The engine that switches a running cluster between Raft and PBFT
 * at an agreed index is not built yet and is not a plugin yet; the manifest
 * cannot name it.
 *
 * @module
 */
export { decodeEntry, ENTRY_TAGS, encodeEntry, MAX_MEMBER_BYTES, MAX_REASON_BYTES } from "./entries.ts";
export type { AdaptiveEntry, CommandEntry } from "./entries.ts";
