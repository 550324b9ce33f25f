/**
 * Signatures and digests for PBFT.
 *
 * The state machine signs and verifies synchronously, so it stays a pure,
 * deterministic function of its inputs (as the Raft engine does). WebCrypto
 * offers Ed25519 only as promises, so signing uses `node:crypto` (present on
 * Deno, Bun and Node), which computes the same Ed25519: signatures are
 * deterministic, and a signature made here is byte for byte the one
 * WebCrypto makes with the same key (tested in
 * `tests/plugins/consensus_pbft_crypto_test.ts`). Keys are raw 32-byte
 * Ed25519 seeds and public keys, as WebCrypto imports and exports them.
 *
 * @module
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Digest } from "./types.ts";

/** Signs as one identity. */
export interface Signer {
  /** The identity: a member id, or `"key:<base64url>"` for an outside client. */
  readonly id: string;
  /** A signature over `bytes`. */
  sign(bytes: Uint8Array): Uint8Array;
}

/** Checks signatures by any known identity. */
export interface Verifier {
  /** True when `signature` is `signer`'s over `bytes`; false for unknown signers and bad signatures. */
  verify(signer: string, bytes: Uint8Array, signature: Uint8Array): boolean;
}

/** SHA-256 of `bytes`. */
export function sha256(bytes: Uint8Array): Digest {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

/** The bytes that `hex` spells (two hex digits a byte). */
export function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

// The DER headers that wrap a raw 32-byte Ed25519 key into PKCS #8 (private) and SPKI (public).
const PKCS8_ED25519_PREFIX = fromHex("302e020100300506032b657004220420");
const SPKI_ED25519_PREFIX = fromHex("302a300506032b6570032100");
const CLIENT_KEY_PREFIX = "key:";

function concat(prefix: Uint8Array, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + rest.length);
  out.set(prefix);
  out.set(rest, prefix.length);
  return out;
}

function checkKeyLength(bytes: Uint8Array, what: string): void {
  if (bytes.length !== 32) {
    throw new SwitchyardError("INVALID_ARGUMENT", `${what} must be 32 bytes (raw Ed25519), got ${bytes.length}`);
  }
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  checkKeyLength(seed, "an Ed25519 private key");
  return createPrivateKey({ key: Buffer.from(concat(PKCS8_ED25519_PREFIX, seed)), format: "der", type: "pkcs8" });
}

function publicKeyObject(raw: Uint8Array): KeyObject {
  checkKeyLength(raw, "an Ed25519 public key");
  return createPublicKey({ key: Buffer.from(concat(SPKI_ED25519_PREFIX, raw)), format: "der", type: "spki" });
}

/** The raw public key of an Ed25519 private key seed. */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  return rawPublicKey(privateKeyObject(seed));
}

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const der = createPublicKey(privateKey).export({ format: "der", type: "spki" });
  return new Uint8Array(der.subarray(SPKI_ED25519_PREFIX.length));
}

/** A fresh random Ed25519 private key seed. */
export function generatePrivateKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** The identity of an outside client: `"key:"` and its public key in base64url. */
export function clientIdOf(publicKey: Uint8Array): string {
  checkKeyLength(publicKey, "an Ed25519 public key");
  return CLIENT_KEY_PREFIX + Buffer.from(publicKey).toString("base64url");
}

/** True for an outside client's identity (`"key:<base64url>"`), which receives replies. */
export function isOutsideClient(client: string): boolean {
  return client.startsWith(CLIENT_KEY_PREFIX);
}

/**
 * Whose key signs the requests of `client`: the member before `#` for a
 * replica's embedded client, the client itself for a `key:` identity, or
 * `undefined` when the name is neither.
 */
export function requestSigner(client: string, isMember: (id: string) => boolean): string | undefined {
  if (client.startsWith(CLIENT_KEY_PREFIX)) return client;
  const hash = client.indexOf("#");
  if (hash <= 0) return undefined;
  const member = client.slice(0, hash);
  return isMember(member) ? member : undefined;
}

/** Signs with an Ed25519 key. */
export class Ed25519Signer implements Signer {
  /** The identity signatures are checked against. */
  readonly id: string;
  readonly #key: KeyObject;

  /** Signs as `id` with the 32-byte private key seed; `id` defaults to the client identity of its public key. */
  constructor(privateKey: Uint8Array, id?: string) {
    this.#key = privateKeyObject(privateKey);
    this.id = id ?? clientIdOf(rawPublicKey(this.#key));
  }

  /** The signature (64 bytes). */
  sign(bytes: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, bytes, this.#key));
  }
}

/**
 * Checks Ed25519 signatures of the members (public keys from configuration)
 * and of outside clients (whose identity is their public key). Parsed client
 * keys are cached, up to a bound.
 */
export class Ed25519Verifier implements Verifier {
  readonly #members = new Map<string, KeyObject>();
  readonly #clients = new Map<string, KeyObject | null>();
  readonly #maxCachedClients: number;

  /** Knows the members' raw public keys. */
  constructor(memberKeys: Record<string, Uint8Array>, options: { maxCachedClients?: number } = {}) {
    for (const [id, key] of Object.entries(memberKeys)) this.#members.set(id, publicKeyObject(key));
    this.#maxCachedClients = options.maxCachedClients ?? 10_000;
  }

  /** True when the signature is valid for `signer`. */
  verify(signer: string, bytes: Uint8Array, signature: Uint8Array): boolean {
    if (signature.length !== 64) return false;
    const key = this.#members.get(signer) ?? this.#clientKey(signer);
    if (!key) return false;
    try {
      return verify(null, bytes, key, signature);
    } catch {
      return false;
    }
  }

  #clientKey(signer: string): KeyObject | null {
    if (!signer.startsWith(CLIENT_KEY_PREFIX)) return null;
    const cached = this.#clients.get(signer);
    if (cached !== undefined) return cached;
    let key: KeyObject | null = null;
    const raw = Buffer.from(signer.slice(CLIENT_KEY_PREFIX.length), "base64url");
    if (raw.length === 32 && clientIdOf(raw) === signer) key = publicKeyObject(raw);
    if (this.#clients.size >= this.#maxCachedClients) this.#clients.clear();
    this.#clients.set(signer, key);
    return key;
  }
}

function withDomain(domain: Uint8Array, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(domain.byteLength + 1 + bytes.byteLength);
  out.set(domain);
  out.set(bytes, domain.byteLength + 1);
  return out;
}

/**
 * A signer whose every signature also covers `domain` (its UTF-8 bytes and a
 * zero byte before what is signed): a signature made under one domain
 * verifies under no other. The adaptive engine gives each PBFT epoch its own
 * (`"switchyard epoch <n>"`), so a Byzantine member cannot replay an earlier
 * epoch's signed prepares or checkpoints into a later one.
 */
export function domainSigner(signer: Signer, domain: string): Signer {
  const prefix = new TextEncoder().encode(domain);
  return { id: signer.id, sign: (bytes) => signer.sign(withDomain(prefix, bytes)) };
}

/** The verifier of {@linkcode domainSigner}'s signatures under `domain`. */
export function domainVerifier(verifier: Verifier, domain: string): Verifier {
  const prefix = new TextEncoder().encode(domain);
  return { verify: (signer, bytes, signature) => verifier.verify(signer, withDomain(prefix, bytes), signature) };
}
