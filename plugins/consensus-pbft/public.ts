/**
 * PBFT for applications (`@switchyard/hybrid/consensus-pbft`): the engine
 * bound to a transport and a log ({@linkcode PbftConsensus}), its logs
 * ({@linkcode FilePbftStorage}, {@linkcode MemoryPbftStorage}), a replica's
 * keys from its secret ({@linkcode replicaKeys}, {@linkcode generateReplicaSecret},
 * {@linkcode identityOf}), the outside client that accepts a result on f + 1
 * matching replies ({@linkcode PbftClient}), and the fault injection the
 * crash tests use ({@linkcode equivocatingFilter}). The manifest plugin is
 * `builtin:consensus-pbft`; the protocol and its fault model are in
 * `docs/pbft.md`.
 *
 * @example
 * ```ts
 * import { generateReplicaSecret, identityOf } from "@switchyard/hybrid/consensus-pbft";
 * const secret = generateReplicaSecret(); // this replica's own, never shared
 * const identity = await identityOf(secret); // public: give it to every replica's configuration
 * ```
 *
 * @module
 */
export { PbftConsensus } from "./driver.ts";
export type { PbftConsensusOptions, PbftDropReason } from "./driver.ts";
export { PbftClient } from "./client.ts";
export type { PbftClientOptions } from "./client.ts";
export { DEFAULT_PBFT_CONFIG } from "./pbft.ts";
export type { PbftConfig, PbftStats, RejectReason, ReplicatedService } from "./pbft.ts";
export { FilePbftStorage, MemoryPbftStorage } from "./storage.ts";
export type { PbftStorage } from "./storage.ts";
export { generateReplicaSecret, identityOf, parseIdentity, replicaKeys } from "./keys.ts";
export type { PublicIdentity, ReplicaKeys } from "./keys.ts";
export { domainSigner, domainVerifier, Ed25519Signer, Ed25519Verifier } from "./crypto.ts";
export type { Signer, Verifier } from "./crypto.ts";
export { equivocatingFilter } from "./equivocation.ts";
export type { OutgoingFilter } from "./equivocation.ts";
export type * from "./types.ts";
export type { RecordFileRecovery } from "../wal-kit/record_file.ts";
