/**
 * One cluster node's configuration file (JSON), validated field by field:
 * where the node listens, how it reaches each peer (the addresses it dials,
 * which may be a link emulator's in front of the peer), its PBFT keys, the
 * manager's detection settings and the adaptive engine's.
 *
 * @example
 * ```json
 * { "id": "n1", "dataDir": "/var/lib/switchyard/n1", "secretFile": "/etc/switchyard/n1.secret",
 *   "listen": { "transport": "10.0.0.1:7001", "probe": "10.0.0.1:7101", "http": "10.0.0.1:8001",
 *               "admin": "10.0.0.1:7070" },
 *   "peers": { "n2": { "transport": "10.0.0.2:7001", "probe": "10.0.0.2:7101", "http": "10.0.0.2:8001" } },
 *   "identities": { "n1": "…", "n2": "…" } }
 * ```
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import * as v from "valibot";
import { type HybridConfigInput, resolveConfig, ValidationError } from "../../mod.ts";
import { parseAddress } from "../../plugins/transport-tcp/mod.ts";
import { parseOrThrow } from "../../core/util/validation.ts";

const address = v.pipe(
  v.string(),
  v.check((text) => {
    try {
      return parseAddress(text).port > 0;
    } catch {
      return false;
    }
  }, "must be host:port, the port from 1 to 65535"),
);
const nodeId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1 to 64 letters, digits, _ . or -"));
const positive = v.pipe(v.number(), v.integer(), v.minValue(1));

const peer = v.strictObject({
  /** Where this node dials the peer's transport (consensus). */
  transport: address,
  /** Where this node dials the peer's probe responder. */
  probe: address,
  /** The peer's key-value HTTP address (for redirects to a leader). */
  http: address,
});

/** A node's configuration, validated, defaults filled in (the file's fields; see the module doc). */
export interface ClusterNodeConfig {
  /** This node's id (a member id of the cluster). */
  id: string;
  /** Where the node keeps its logs and handovers. */
  dataDir: string;
  /** The file holding this node's PBFT secret (hex or base64). */
  secretFile: string;
  /** Where this node listens: transport (consensus), probe responder, key-value HTTP, admin endpoint. */
  listen: { transport: string; probe: string; http: string; admin: string };
  /** Every other member, as this node reaches it (the addresses it dials). */
  peers: Record<string, { transport: string; probe: string; http: string }>;
  /** Every member's public identity, this node's included. */
  identities: Record<string, string>;
  /** The environment variable holding the admin endpoint's bearer token (default `SWITCHYARD_TOKEN`). */
  adminTokenEnv: string;
  /** The manager's settings (see `resolveConfig`). */
  manager: Record<string, unknown>;
  /** The adaptive engine's settings. */
  consensus: { tickMs: number; reportEveryMs: number; cooldownMs: number; graceMs: number };
  /** The probes' settings: bytes per bandwidth measurement and peer. */
  probes: { bandwidthBudgetBytes: number };
  /** The compressors' settings: the zstd level of internet mode (and its links). */
  compression: { zstdLevel: number };
}

const schema = v.strictObject({
  /** This node's id (a member id of the cluster). */
  id: nodeId,
  /** Where the node keeps its logs and handovers. */
  dataDir: v.pipe(v.string(), v.minLength(1)),
  /** The file holding this node's PBFT secret (hex or base64). */
  secretFile: v.pipe(v.string(), v.minLength(1)),
  /** Where this node listens. */
  listen: v.strictObject({
    transport: address,
    probe: address,
    http: address,
    admin: address,
  }),
  /** Every other member, as this node reaches it. */
  peers: v.pipe(
    v.record(nodeId, peer),
    v.check((peers) => Object.keys(peers).length >= 3, "needs at least 3 peers (4 members: PBFT tolerates 1 fault)"),
  ),
  /** Every member's public identity, this node's included. */
  identities: v.record(nodeId, v.pipe(v.string(), v.minLength(1))),
  /** The environment variable holding the admin endpoint's bearer token. */
  adminTokenEnv: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, "must be a variable name")),
    "SWITCHYARD_TOKEN",
  ),
  /** The manager's settings (see `resolveConfig`; checked there, naming the field). */
  manager: v.optional(v.record(v.string(), v.unknown()), {}),
  /** The adaptive engine's settings. */
  consensus: v.optional(
    v.strictObject({
      tickMs: v.optional(positive, 10),
      reportEveryMs: v.optional(positive, 500),
      cooldownMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 5_000),
      graceMs: v.optional(positive, 2_000),
    }),
    {},
  ),
  /** The compressors' settings. */
  compression: v.optional(
    v.strictObject({
      /** zstd's level in internet mode and on internet links: 1 (fast) to 22 (smallest). */
      zstdLevel: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(22)), 3),
    }),
    {},
  ),
  /** The probes' settings. */
  probes: v.optional(
    v.strictObject({
      /** Bytes per bandwidth measurement and peer. */
      bandwidthBudgetBytes: v.optional(v.pipe(positive, v.minValue(1024)), 256 * 1024),
    }),
    {},
  ),
});

/**
 * Validates `input` as a node configuration; throws a `ValidationError`
 * (`CONFIG_INVALID`) listing every bad field by its path, the manager's
 * settings included.
 */
export function parseClusterNodeConfig(input: unknown, source = "node config"): ClusterNodeConfig {
  const config = parseOrThrow(schema, input, source, "CONFIG_INVALID");
  const issues = [];
  if (config.peers[config.id]) issues.push({ path: `peers.${config.id}`, message: "must not list this node itself" });
  for (const member of [config.id, ...Object.keys(config.peers)]) {
    if (!config.identities[member]) issues.push({ path: `identities.${member}`, message: "is missing" });
  }
  if (issues.length > 0) throw new ValidationError("CONFIG_INVALID", source, issues);
  try {
    resolveConfig(config.manager as HybridConfigInput);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const nested = error.issues.map((issue) => ({ ...issue, path: `manager.${issue.path}` }));
    throw new ValidationError("CONFIG_INVALID", source, nested);
  }
  return config;
}

/** Reads and validates the configuration file at `path`; a file that is not JSON is refused naming it. */
export async function readClusterNodeConfig(path: string): Promise<ClusterNodeConfig> {
  const text = await readFile(path, "utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ValidationError("CONFIG_INVALID", path, [{ path: "", message: `not JSON: ${(error as Error).message}` }]);
  }
  return parseClusterNodeConfig(parsed, path);
}
