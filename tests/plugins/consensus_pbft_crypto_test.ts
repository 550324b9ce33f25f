// PBFT's signatures: node:crypto's Ed25519 (synchronous, used by the state
// machine) against WebCrypto's (the standard the docs promise). Same key, same
// bytes, same signature, and each verifies the other's; the RFC 8032 test
// vector pins both to the standard; bad keys and signatures are refused.
import assert from "node:assert/strict";
import {
  clientIdOf,
  domainSigner,
  domainVerifier,
  Ed25519Signer,
  Ed25519Verifier,
  fromHex,
  generatePrivateKey,
  publicKeyOf,
  requestSigner,
  sha256,
} from "../../plugins/consensus-pbft/crypto.ts";
import { SwitchyardError } from "../../core/util/errors.ts";

const toHex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");

const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");

async function webCryptoKeys(seed: Uint8Array) {
  const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
  pkcs8.set(PKCS8_PREFIX);
  pkcs8.set(seed, PKCS8_PREFIX.length);
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const publicRaw = Uint8Array.from(atob(jwk.x!.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const publicKey = await crypto.subtle.importKey("raw", publicRaw, { name: "Ed25519" }, true, ["verify"]);
  return { privateKey, publicKey, publicRaw };
}

Deno.test("pbft crypto: the RFC 8032 test vector (test 2) signs and verifies", () => {
  const seed = fromHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const publicKey = fromHex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const signature = fromHex(
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  );
  assert.equal(toHex(publicKeyOf(seed)), toHex(publicKey));
  const signer = new Ed25519Signer(seed, "r0");
  assert.equal(toHex(signer.sign(fromHex("72"))), toHex(signature));
  const verifier = new Ed25519Verifier({ r0: publicKey });
  assert.equal(verifier.verify("r0", fromHex("72"), signature), true);
  assert.equal(verifier.verify("r0", fromHex("73"), signature), false, "another message");
});

Deno.test("pbft crypto: node:crypto and WebCrypto make the same signature and verify each other's", async () => {
  for (let round = 0; round < 20; round++) {
    const seed = generatePrivateKey();
    const message = crypto.getRandomValues(new Uint8Array(round * 37));
    const web = await webCryptoKeys(seed);
    assert.equal(toHex(publicKeyOf(seed)), toHex(web.publicRaw), "the same public key");
    const ours = new Ed25519Signer(seed, "r1").sign(message);
    const theirs = new Uint8Array(await crypto.subtle.sign("Ed25519", web.privateKey, message));
    assert.equal(toHex(ours), toHex(theirs), "Ed25519 is deterministic: the same signature");
    assert.equal(await crypto.subtle.verify("Ed25519", web.publicKey, new Uint8Array(ours), message), true);
    const verifier = new Ed25519Verifier({ r1: web.publicRaw });
    assert.equal(verifier.verify("r1", message, theirs), true);
    const altered = theirs.slice();
    altered[round % 64] ^= 1;
    assert.equal(verifier.verify("r1", message, altered), false, "an altered signature");
    assert.equal(await crypto.subtle.verify("Ed25519", web.publicKey, new Uint8Array(altered), message), false);
  }
});

Deno.test("pbft crypto: an outside client's identity is its public key, checked without configuration", () => {
  const seed = generatePrivateKey();
  const signer = new Ed25519Signer(seed);
  assert.equal(signer.id, clientIdOf(publicKeyOf(seed)));
  const verifier = new Ed25519Verifier({}, { maxCachedClients: 2 });
  const message = new TextEncoder().encode("put k v");
  assert.equal(verifier.verify(signer.id, message, signer.sign(message)), true);
  const other = new Ed25519Signer(generatePrivateKey());
  assert.equal(verifier.verify(other.id, message, signer.sign(message)), false, "someone else's key");
  assert.equal(verifier.verify("key:not-base64url!!", message, signer.sign(message)), false, "a malformed identity");
  assert.equal(verifier.verify(`${signer.id}A`, message, signer.sign(message)), false, "a non-canonical identity");
  assert.equal(verifier.verify("r9", message, signer.sign(message)), false, "an unknown member");
  assert.equal(verifier.verify(signer.id, message, new Uint8Array(63)), false, "a short signature");
  for (let i = 0; i < 10; i++) {
    const client = new Ed25519Signer(generatePrivateKey());
    assert.equal(verifier.verify(client.id, message, client.sign(message)), true, "past the cache bound too");
  }
  assert.equal(verifier.verify(signer.id, message, signer.sign(message)), true, "an evicted key is parsed again");
  assert.equal(requestSigner(signer.id, () => false), signer.id);
  assert.equal(requestSigner("r0#1", (id) => id === "r0"), "r0");
  assert.equal(requestSigner("evil#1", (id) => id === "r0"), undefined);
  assert.equal(requestSigner("#1", () => true), undefined);
});

Deno.test("pbft crypto: keys of the wrong length are refused with a typed error", () => {
  assert.throws(() => new Ed25519Signer(new Uint8Array(31)), (error) => {
    assert.ok(error instanceof SwitchyardError);
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.match(error.message, /32 bytes/);
    return true;
  });
  assert.throws(() => new Ed25519Verifier({ r0: new Uint8Array(33) }), /public key must be 32 bytes/);
  assert.throws(() => clientIdOf(new Uint8Array(0)), /32 bytes/);
});

Deno.test("pbft crypto: sha256 is SHA-256 (WebCrypto agrees)", async () => {
  const bytes = crypto.getRandomValues(new Uint8Array(1000));
  const web = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  assert.equal(toHex(sha256(bytes)), toHex(web));
  assert.equal(toHex(sha256(new Uint8Array())), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

Deno.test("pbft crypto: a signature under one domain (an adaptive epoch) verifies under that domain only", () => {
  const seed = generatePrivateKey();
  const base = new Ed25519Signer(seed, "r0");
  const verifier = new Ed25519Verifier({ r0: publicKeyOf(seed) });
  const message = new TextEncoder().encode("prepare view 0 sequence 7");
  const epoch1 = domainSigner(base, "switchyard epoch 1");
  assert.equal(epoch1.id, "r0");
  const signature = epoch1.sign(message);
  assert.equal(domainVerifier(verifier, "switchyard epoch 1").verify("r0", message, signature), true);
  assert.equal(domainVerifier(verifier, "switchyard epoch 2").verify("r0", message, signature), false, "a later epoch");
  assert.equal(verifier.verify("r0", message, signature), false, "no domain");
  assert.equal(
    domainVerifier(verifier, "switchyard epoch 1").verify("r0", message, base.sign(message)),
    false,
    "a signature made without the domain",
  );
});
