/**
 * Keys for peer authentication: parsing a cluster secret, and the HMAC-SHA-256
 * key of each ordered pair of nodes, derived from it with HKDF-SHA-256 once
 * per pair.
 *
 * @module
 */
import { ValidationError } from "../../core/util/errors.ts";
import { hmacSha256 } from "./hmac.ts";

/** The shortest cluster secret accepted, in bytes (256 bits). */
export const MIN_CLUSTER_KEY_BYTES = 32;

/** The longest node id a sealed frame can name, in UTF-8 bytes. */
export const MAX_NODE_ID_BYTES = 255;

/** Pair keys kept at most; beyond, the oldest is dropped and derived again when needed. */
const MAX_CACHED_PAIR_KEYS = 4096;

const encoder = new TextEncoder();
const HKDF_SALT = encoder.encode("switchyard peer-auth v1");

/**
 * Where an authenticator gets the key that authenticates frames from one
 * node to another. `keyFor(a, b)` and `keyFor(b, a)` are different keys, so a
 * frame cannot be reflected back to its sender. Implementations cache the
 * derived keys; PBFT can give each replica only its own pairs.
 */
export interface PeerKeys {
  /** The HMAC-SHA-256 key (32 bytes; treat as secret, do not modify) of frames sent by `from` to `to`. */
  keyFor(from: string, to: string): Promise<Uint8Array>;
}

/**
 * Pairwise keys derived from one cluster secret: the key of `from → to` is
 * HKDF-SHA-256 (salt `"switchyard peer-auth v1"`, info: the two ids, each
 * length-prefixed). Every holder of the secret can derive every pair's key, so
 * this authenticates the cluster against outsiders, not members against each
 * other.
 *
 * @example
 * ```ts
 * import { clusterKeys, parseClusterKey } from "./keys.ts";
 * const keys = clusterKeys(parseClusterKey("00".repeat(32), "clusterKey"));
 * const key = await keys.keyFor("n1", "n2"); // derived once, then cached
 * ```
 */
export function clusterKeys(secret: Uint8Array): PeerKeys {
  if (secret.byteLength < MIN_CLUSTER_KEY_BYTES) {
    throw new ValidationError("INVALID_ARGUMENT", "cluster key", [
      { path: "secret", message: `must be at least ${MIN_CLUSTER_KEY_BYTES} bytes, got ${secret.byteLength}` },
    ]);
  }
  const material = secret.slice();
  let base: Promise<CryptoKey> | undefined;
  const derive = async (from: string, to: string): Promise<Uint8Array> => {
    base ??= crypto.subtle.importKey("raw", material, "HKDF", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits(
      { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: pairInfo(from, to) },
      await base,
      256,
    );
    return new Uint8Array(bits);
  };
  return cachedPairKeys(derive);
}

/**
 * Pair keys from `derive`, each derived once and kept (at most
 * {@linkcode MAX_CACHED_PAIR_KEYS}, the oldest dropped first); a derivation
 * that fails is forgotten, so the next call tries again.
 */
function cachedPairKeys(derive: (from: string, to: string) => Promise<Uint8Array>): PeerKeys {
  const cache = new Map<string, Promise<Uint8Array>>();
  return {
    keyFor(from, to) {
      const id = JSON.stringify([from, to]);
      let key = cache.get(id);
      if (!key) {
        if (cache.size >= MAX_CACHED_PAIR_KEYS) cache.delete(cache.keys().next().value!);
        key = derive(from, to);
        const pending = key;
        pending.catch(() => cache.get(id) === pending && cache.delete(id));
        cache.set(id, key);
      }
      return key;
    },
  };
}

function pairInfo(from: string, to: string): Uint8Array<ArrayBuffer> {
  const a = encoder.encode(from);
  const b = encoder.encode(to);
  const info = new Uint8Array(8 + a.byteLength + b.byteLength);
  const view = new DataView(info.buffer);
  view.setUint32(0, a.byteLength);
  info.set(a, 4);
  view.setUint32(4 + a.byteLength, b.byteLength);
  info.set(b, 8 + a.byteLength);
  return info;
}

/**
 * Decodes a cluster secret written as hex (an even number of hex digits) or
 * base64 (standard or URL-safe, padding optional), surrounding whitespace
 * ignored; returns why when it is neither or is shorter than
 * {@linkcode MIN_CLUSTER_KEY_BYTES} bytes.
 */
export function decodeClusterKey(text: string): Uint8Array | string {
  const trimmed = text.trim();
  let bytes: Uint8Array | undefined;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(trimmed)) {
    bytes = new Uint8Array(trimmed.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(trimmed.slice(2 * i, 2 * i + 2), 16);
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) && trimmed.replace(/=+$/, "").length % 4 !== 1) {
    const standard = trimmed.replace(/=+$/, "").replaceAll("-", "+").replaceAll("_", "/");
    const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, "="));
    bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  }
  if (!bytes) return "must be hex or base64 (generate one with `openssl rand -hex 32`)";
  if (bytes.byteLength < MIN_CLUSTER_KEY_BYTES) {
    return `must decode to at least ${MIN_CLUSTER_KEY_BYTES} bytes, got ${bytes.byteLength}`;
  }
  return bytes;
}

/**
 * Like {@linkcode decodeClusterKey}, but throws a `ValidationError` naming
 * `field` when the text is not a usable key.
 *
 * @example
 * ```ts
 * import { parseClusterKey } from "./keys.ts";
 * parseClusterKey("ab".repeat(32), "clusterKey").byteLength; // 32
 * ```
 */
export function parseClusterKey(text: string, field: string): Uint8Array {
  const decoded = decodeClusterKey(text);
  if (typeof decoded === "string") {
    throw new ValidationError("INVALID_ARGUMENT", "cluster key", [{ path: field, message: decoded }]);
  }
  return decoded;
}

/**
 * A new random cluster secret of {@linkcode MIN_CLUSTER_KEY_BYTES} bytes, as
 * hex, from the platform's cryptographic generator (for launchers that start
 * a whole cluster; tests use fixed keys).
 */
export function generateClusterKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(MIN_CLUSTER_KEY_BYTES));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Keys of their own for one epoch (or any other numbered run) of an engine:
 * the key of `from → to` is HMAC-SHA-256 under `keys`' key of the pair, over
 * `"switchyard epoch <epoch>"`. Frames sealed in one epoch do not open in
 * another, so a frame captured in epoch 3 cannot be replayed into epoch 5,
 * even by the same engine kind on the same channel.
 *
 * @example
 * ```ts
 * import { clusterKeys, epochKeys, parseClusterKey } from "./keys.ts";
 * const keys = clusterKeys(parseClusterKey("00".repeat(32), "clusterKey"));
 * const epoch2 = epochKeys(keys, 2);
 * const key = await epoch2.keyFor("n1", "n2"); // differs from epoch 1's and from keys' own
 * ```
 */
export function epochKeys(keys: PeerKeys, epoch: number): PeerKeys {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new ValidationError("INVALID_ARGUMENT", "epoch keys", [
      { path: "epoch", message: `must be a whole number from 0, got ${epoch}` },
    ]);
  }
  return labelledKeys(keys, `switchyard epoch ${epoch}`);
}

/**
 * Pair keys bound to `label` (each pair's key, HMAC'd with it): two nodes
 * authenticate each other's frames only if they bound their keys to the
 * same label. The adaptive engine binds its keys to its tally's settings,
 * so a member configured to decide otherwise cannot talk to the others.
 *
 * @example
 * ```ts
 * import { clusterKeys, labelledKeys, parseClusterKey } from "./keys.ts";
 * const keys = clusterKeys(parseClusterKey("00".repeat(32), "clusterKey"));
 * const bound = labelledKeys(keys, "switchyard tally {…}");
 * await bound.keyFor("n1", "n2"); // differs from keys' own, and from any other label's
 * ```
 */
export function labelledKeys(keys: PeerKeys, label: string): PeerKeys {
  const bytes = encoder.encode(label);
  return cachedPairKeys((from, to) => keys.keyFor(from, to).then((base) => hmacSha256(base, bytes)));
}
