/**
 * A PBFT replica's keys. Each replica holds one secret seed (32 bytes) of its
 * own, from which two key pairs come: Ed25519 for signatures (the seed
 * itself) and X25519 for channel keys (the seed through HKDF). Its public
 * **identity** is both public keys, `base64url(ed25519 ‖ x25519)`, which
 * every replica lists for every member.
 *
 * Channel keys are truly pairwise: the key of frames from `a` to `b` comes
 * from X25519(a's secret, b's public) = X25519(b's secret, a's public)
 * through HKDF, so only `a` and `b` can compute it and a Byzantine member
 * cannot seal frames in another member's name (a shared cluster secret would
 * let it). They plug into the peer-auth kit as its `PeerKeys`.
 *
 * @module
 */
import { SwitchyardError, ValidationError } from "../../core/util/errors.ts";
import type { PeerKeys } from "../peer-auth/keys.ts";
import { Ed25519Signer, Ed25519Verifier, fromHex, publicKeyOf } from "./crypto.ts";

const encoder = new TextEncoder();
const X25519_PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");
const SEED_BYTES = 32;

/** A replica's public keys. */
export interface PublicIdentity {
  /** Ed25519 public key (32 bytes): checks its signatures. */
  signing: Uint8Array;
  /** X25519 public key (32 bytes): agrees its channel keys. */
  agreement: Uint8Array;
}

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

async function hkdf(material: Uint8Array, info: string, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", concat(material), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("switchyard pbft keys v1"), info: encoder.encode(info) },
    key,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

async function agreementPrivateKey(seed: Uint8Array): Promise<CryptoKey> {
  const raw = await hkdf(seed, "x25519", 32);
  return crypto.subtle.importKey("pkcs8", concat(X25519_PKCS8_PREFIX, raw), { name: "X25519" }, true, ["deriveBits"]);
}

function checkSeed(seed: Uint8Array): void {
  if (seed.byteLength !== SEED_BYTES) {
    throw new SwitchyardError(
      "INVALID_ARGUMENT",
      `a replica secret must be ${SEED_BYTES} bytes, got ${seed.byteLength}`,
    );
  }
}

/** A fresh random replica secret. */
export function generateReplicaSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SEED_BYTES));
}

/** The public identity of a replica secret, as the text every member lists. */
export async function identityOf(seed: Uint8Array): Promise<string> {
  checkSeed(seed);
  const agreement = await agreementPrivateKey(seed);
  const jwk = await crypto.subtle.exportKey("jwk", agreement);
  const publicAgreement = Buffer.from(jwk.x!, "base64url");
  return Buffer.from(concat(publicKeyOf(seed), publicAgreement)).toString("base64url");
}

/** Reads an identity; returns the reason when it is not one. */
export function parseIdentity(text: string): PublicIdentity | string {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return "must be base64url";
  const bytes = Buffer.from(text, "base64url");
  if (bytes.byteLength !== 64) return `must decode to 64 bytes (two public keys), got ${bytes.byteLength}`;
  return { signing: new Uint8Array(bytes.subarray(0, 32)), agreement: new Uint8Array(bytes.subarray(32)) };
}

/** Everything a replica needs from its keys. */
export interface ReplicaKeys {
  /** Signs as this replica. */
  signer: Ed25519Signer;
  /** Checks members' and outside clients' signatures. */
  verifier: Ed25519Verifier;
  /** Channel keys for the peer-auth kit. */
  channel: PeerKeys;
}

/**
 * The keys of replica `self`, from its secret and every member's identity
 * (its own included, which must match its secret).
 */
export async function replicaKeys(
  self: string,
  seed: Uint8Array,
  identities: Record<string, string>,
): Promise<ReplicaKeys> {
  checkSeed(seed);
  const parsed = new Map<string, PublicIdentity>();
  const issues = [];
  for (const [id, text] of Object.entries(identities)) {
    const identity = parseIdentity(text);
    if (typeof identity === "string") issues.push({ path: `identities.${id}`, message: identity });
    else parsed.set(id, identity);
  }
  if (issues.length > 0) throw new ValidationError("INVALID_ARGUMENT", "PBFT identities", issues);
  const own = await identityOf(seed);
  if (identities[self] !== own) {
    throw new ValidationError("INVALID_ARGUMENT", "PBFT identities", [
      { path: `identities.${self}`, message: `does not match this replica's secret (its identity is ${own})` },
    ]);
  }
  const ownAgreement = await agreementPrivateKey(seed);
  const signer = new Ed25519Signer(seed, self);
  const verifier = new Ed25519Verifier(Object.fromEntries([...parsed].map(([id, key]) => [id, key.signing])));
  const shared = new Map<string, Promise<Uint8Array>>();
  const sharedWith = (peer: string): Promise<Uint8Array> => {
    let secret = shared.get(peer);
    if (!secret) {
      const identity = parsed.get(peer);
      if (!identity) return Promise.reject(new SwitchyardError("INVALID_ARGUMENT", `${peer} is not a member`));
      secret = (async () => {
        const publicKey = await crypto.subtle.importKey(
          "raw",
          concat(identity.agreement),
          { name: "X25519" },
          false,
          [],
        );
        return new Uint8Array(await crypto.subtle.deriveBits({ name: "X25519", public: publicKey }, ownAgreement, 256));
      })();
      shared.set(peer, secret);
    }
    return secret;
  };
  const pairKeys = new Map<string, Promise<Uint8Array>>();
  const channel: PeerKeys = {
    keyFor(from, to) {
      const id = `${from}\u0000${to}`;
      let key = pairKeys.get(id);
      if (!key) {
        const peer = from === self ? to : from;
        key = (async () => hkdf(await sharedWith(peer), `channel ${from.length}:${from} ${to.length}:${to}`, 32))();
        pairKeys.set(id, key);
      }
      return key;
    },
  };
  return { signer, verifier, channel };
}
