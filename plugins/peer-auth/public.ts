/**
 * Peer authentication for applications and engine authors
 * (`@switchyard/hybrid/peer-auth`): the cluster secret and the pairwise keys
 * derived from it ({@linkcode clusterKeys}, {@linkcode loadClusterKey},
 * {@linkcode generateClusterKey}), and the authenticator that seals and opens
 * frames ({@linkcode PeerAuthenticator}). The guarantees and assumptions are
 * in the kit's own module documentation (`plugins/peer-auth/mod.ts`).
 *
 * @example
 * ```ts
 * import { clusterKeys, generateClusterKey, parseClusterKey } from "@switchyard/hybrid/peer-auth";
 * const secret = generateClusterKey(); // hex; the same on every node (or `openssl rand -hex 32`)
 * const keys = clusterKeys(parseClusterKey(secret, "clusterKey"));
 * ```
 *
 * @module
 */
export {
  DEFAULT_MAX_CLOCK_SKEW_MS,
  type OpenResult,
  PeerAuthenticator,
  type PeerAuthenticatorOptions,
  REJECTION_REASONS,
  type RejectionReason,
} from "./authenticator.ts";
export {
  clusterKeys,
  decodeClusterKey,
  epochKeys,
  generateClusterKey,
  labelledKeys,
  MAX_NODE_ID_BYTES,
  MIN_CLUSTER_KEY_BYTES,
  parseClusterKey,
  type PeerKeys,
} from "./keys.ts";
export { type ClusterKeyOptions, loadClusterKey } from "./key_options.ts";
