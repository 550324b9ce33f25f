/**
 * The manifest options that give a replica its PBFT keys (every member's
 * public identity, and this replica's secret from exactly one source), their
 * checks, and the loading: shared by `consensus-pbft` and
 * `consensus-adaptive`, whose PBFT epochs use the same keys.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { env } from "node:process";
import * as v from "valibot";
import { ValidationError } from "../../core/util/errors.ts";
import { decodeClusterKey } from "../peer-auth/keys.ts";
import { type ReplicaKeys, replicaKeys } from "./keys.ts";

const text = v.pipe(v.string(), v.minLength(1));

/** The option fields, to spread into a plugin's options object. */
export const replicaKeyOptionEntries = {
  /** Public identity of every replica (`identityOf(secret)` gives one). */
  identities: v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(255)), text),
  /** This replica's secret, hex or base64 (32 bytes)... */
  secret: v.optional(text),
  /** ... or the file holding it ... */
  secretFile: v.optional(text),
  /** ... or the environment variable holding it. */
  secretEnv: v.optional(text),
};

/** What the checks and the loading read. */
export interface ReplicaKeyOptions {
  /** This replica. */
  nodeId: string;
  /** Every member's address. */
  peers: Record<string, string>;
  /** Every member's identity. */
  identities: Record<string, string>;
  /** The secret, inline. */
  secret?: string;
  /** The file holding the secret. */
  secretFile?: string;
  /** The environment variable holding the secret. */
  secretEnv?: string;
}

/** True when `config` lists an identity for every member of `peers` (message: {@linkcode EVERY_IDENTITY}). */
export function hasEveryIdentity(config: ReplicaKeyOptions): boolean {
  return Object.keys(config.peers).every((member) => config.identities[member] !== undefined);
}

/** What {@linkcode hasEveryIdentity} failing says, on `identities`. */
export const EVERY_IDENTITY = "must list the identity of every replica in peers";

/** True when exactly one secret source is given (message: {@linkcode ONE_SECRET}). */
export function hasOneSecret(config: ReplicaKeyOptions): boolean {
  return [config.secret, config.secretFile, config.secretEnv].filter(Boolean).length === 1;
}

/** What {@linkcode hasOneSecret} failing says, on `secret`. */
export const ONE_SECRET = "give exactly one of secret, secretFile, secretEnv";

/** Reads the secret from its source and derives the replica's keys; `PLUGIN_INVALID` naming the field when it is bad. */
export async function loadReplicaKeys(config: ReplicaKeyOptions, pluginId: string): Promise<ReplicaKeys> {
  const [field, source] = config.secret !== undefined
    ? ["secret", config.secret]
    : config.secretFile !== undefined
    ? ["secretFile", await readFile(config.secretFile, "utf8")]
    : ["secretEnv", env[config.secretEnv!] ?? ""];
  const decoded = decodeClusterKey(source);
  const problem = typeof decoded === "string"
    ? decoded
    : decoded.byteLength !== 32
    ? `must decode to 32 bytes, got ${decoded.byteLength}`
    : undefined;
  if (problem) throw new ValidationError("PLUGIN_INVALID", `${pluginId} options`, [{ path: field, message: problem }]);
  return await replicaKeys(config.nodeId, decoded as Uint8Array, config.identities);
}
