/**
 * Raft for applications (`@switchyard/hybrid/consensus-raft`): the engine
 * bound to a transport and a log ({@linkcode RaftConsensus}), the write-ahead
 * log on disk ({@linkcode FileWal}) or in memory ({@linkcode MemoryStorage}),
 * and what they report. The manifest plugin is `builtin:consensus-raft`.
 *
 * @example
 * ```ts
 * import { FileWal, RaftConsensus } from "@switchyard/hybrid/consensus-raft";
 * import { clusterKeys } from "@switchyard/hybrid/peer-auth";
 * import { SystemClock, type ConsensusStateMachine, type Transport } from "@switchyard/hybrid";
 * declare const transport: Transport;
 * declare const machine: ConsensusStateMachine<number>;
 * declare const secret: Uint8Array;
 * const raft = new RaftConsensus({
 *   id: "n1",
 *   peers: { n1: "10.0.0.1:7001", n2: "10.0.0.2:7001", n3: "10.0.0.3:7001" },
 *   transport,
 *   storage: new FileWal("/var/lib/switchyard/n1"),
 *   stateMachine: machine,
 *   clock: new SystemClock(),
 *   peerAuth: { keys: clusterKeys(secret) },
 * });
 * await raft.start();
 * ```
 *
 * @module
 */
export { PEER_REJECTION_REASONS, RaftConsensus } from "./driver.ts";
export type { PeerRejectionReason, RaftConsensusOptions, RaftConsensusStats } from "./driver.ts";
export { FileWal } from "./file_wal.ts";
export type { WalRecovery } from "./file_wal.ts";
export { WalCorruptError } from "../wal-kit/format.ts";
export type { TornTail, WalDamage } from "../wal-kit/format.ts";
export type { WalErrorCode } from "../wal-kit/errors.ts";
export { MemoryStorage } from "./storage.ts";
export type { RaftStorage, StorageUpdate } from "./storage.ts";
export type * from "./types.ts";
export { DEFAULT_RAFT_CONFIG } from "./raft.ts";
export type { RaftConfig, RaftDurableState } from "./raft.ts";
