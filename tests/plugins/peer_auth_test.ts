import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env } from "node:process";
import { ManualClock } from "../../core/util/clock.ts";
import { ValidationError } from "../../core/util/errors.ts";
import type { Logger } from "../../core/util/logger.ts";
import {
  clusterKeys,
  epochKeys,
  labelledKeys,
  loadClusterKey,
  type OpenResult,
  parseClusterKey,
  PeerAuthenticator,
  type PeerAuthenticatorOptions,
  type PeerKeys,
  RejectionCounter,
  ReplayWindow,
} from "../../plugins/peer-auth/mod.ts";
import { hmacSha256, verifyHmacSha256 } from "../../plugins/peer-auth/hmac.ts";
import { TAG_BYTES } from "../../plugins/peer-auth/sealed_frame.ts";

const KEY = "5a".repeat(32);
const keys = clusterKeys(parseClusterKey(KEY, "KEY"));
const payload = new TextEncoder().encode("a batch of messages");
const hex = (bytes: ArrayBuffer | Uint8Array) =>
  Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");

/** Two nodes on one manual clock, past their start-up window. */
async function pair(options: Partial<PeerAuthenticatorOptions> = {}) {
  const clock = new ManualClock(1_000_000);
  const n1 = new PeerAuthenticator({ self: "n1", keys, clock, maxClockSkewMs: 100, ...options });
  const n2 = new PeerAuthenticator({ self: "n2", keys, clock, maxClockSkewMs: 100, ...options });
  await clock.advance(101);
  return { clock, n1, n2 };
}

function reason(result: OpenResult): string {
  return result.ok ? "ok" : result.reason;
}

Deno.test("peer-auth: pair keys follow the documented HKDF-SHA-256 derivation, differ per direction, and agree on every runtime", async () => {
  // Expected values computed independently (Python's hmac module) from the derivation in keys.ts.
  const data = new TextEncoder().encode("switchyard");
  const forwardKey = await keys.keyFor("n1", "n2");
  const forward = hmacSha256(forwardKey, data);
  const backward = hmacSha256(await keys.keyFor("n2", "n1"), data);
  assert.equal(hex(forward), "c930fd3764d46e3d0f831a51944b0db6a7f67d4bca5f65a1d1b58103343e43aa");
  assert.equal(hex(backward), "b506c614a10c0b0290cea35d71bd205f57663c799133db5de4570668771bcea6");
  assert.equal(await keys.keyFor("n1", "n2"), forwardKey, "derived once, then cached");
  // The synchronous tag is WebCrypto's, byte for byte, and verifies only unaltered.
  const web = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(forwardKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    [
      "sign",
    ],
  );
  assert.equal(hex(await crypto.subtle.sign("HMAC", web, data)), hex(forward));
  assert.equal(verifyHmacSha256(forwardKey, data, forward), true);
  assert.equal(verifyHmacSha256(forwardKey, data, forward.subarray(1)), false, "a short tag");
  const altered = forward.slice();
  altered[31] ^= 1;
  assert.equal(verifyHmacSha256(forwardKey, data, altered), false);
});

Deno.test("peer-auth: a sealed frame opens once, at its receiver, with its sender and payload", async () => {
  const { n1, n2 } = await pair();
  const frame = await n1.seal("n2", payload);
  const opened = await n2.open(frame);
  assert.ok(opened.ok);
  assert.equal(opened.from, "n1");
  assert.equal(opened.to, "n2");
  assert.deepEqual(opened.payload, payload);
  assert.equal(reason(await n2.open(frame)), "replayed");
  assert.equal(reason(await n1.open(await n1.seal("n2", payload))), "wrong-recipient");
});

Deno.test("peer-auth: forged, altered, foreign-keyed and malformed frames are refused", async () => {
  const { clock, n1, n2 } = await pair();
  const frame = await n1.seal("n2", payload);
  for (const at of [1, 5, frame.byteLength - TAG_BYTES - 1, frame.byteLength - 1]) {
    const altered = frame.slice();
    altered[at] ^= 0x01;
    assert.notEqual(reason(await n2.open(altered)), "ok", `byte ${at} altered`);
  }
  const body = frame.slice();
  body[frame.byteLength - TAG_BYTES - 1] ^= 0x01; // a payload byte
  assert.equal(reason(await n2.open(body)), "bad-mac");

  const otherKeys = clusterKeys(parseClusterKey("a5".repeat(32), "other"));
  const stranger = new PeerAuthenticator({ self: "n1", keys: otherKeys, clock, maxClockSkewMs: 100 });
  await clock.advance(101);
  assert.equal(reason(await n2.open(await stranger.seal("n2", payload))), "bad-mac", "same layout, another key");

  for (const garbage of [new Uint8Array(0), new Uint8Array(80), new Uint8Array([0xa1, 0, 0]), payload]) {
    assert.equal(reason(await n2.open(garbage)), "malformed");
  }
  const badCounter = frame.slice();
  new DataView(badCounter.buffer).setFloat64(1 + 1 + 2 + 1 + 2 + 8, Infinity);
  const refused = await n2.open(badCounter);
  assert.ok(!refused.ok && refused.reason === "malformed" && /counter/.test(refused.detail), JSON.stringify(refused));
});

Deno.test("peer-auth: senders the node does not accept are refused before any cryptography", async () => {
  let derived = 0;
  const counting: PeerKeys = {
    keyFor(from, to) {
      derived++;
      return keys.keyFor(from, to);
    },
  };
  const clock = new ManualClock(5_000);
  const evil = new PeerAuthenticator({ self: "evil", keys, clock, maxClockSkewMs: 0 });
  const n2 = new PeerAuthenticator({
    self: "n2",
    keys: counting,
    clock,
    maxClockSkewMs: 0,
    isPeer: (id) => id === "n1",
  });
  await clock.advance(1);
  assert.equal(reason(await n2.open(await evil.seal("n2", payload))), "unknown-sender");
  assert.equal(derived, 0);
  const self = new PeerAuthenticator({ self: "n2", keys, clock, maxClockSkewMs: 0 });
  await clock.advance(1);
  assert.equal(reason(await n2.open(await self.seal("n2", payload))), "unknown-sender", "never from itself");
});

Deno.test("peer-auth: frames arriving out of order are each accepted once; far behind the window they are refused", async () => {
  const { n1, n2 } = await pair({ replayWindow: 64 });
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) frames.push(await n1.seal("n2", payload));
  // Two connections during a reconnect: the newer frames overtake some older ones.
  const order = [...frames.slice(100, 130), ...frames.slice(90, 100), ...frames.slice(130, 150)];
  for (const frame of order) assert.equal(reason(await n2.open(frame)), "ok");
  for (const frame of order) assert.equal(reason(await n2.open(frame)), "replayed");
  assert.equal(reason(await n2.open(frames[50])), "outside-window", "64 frames behind the newest");
  assert.equal(reason(await n2.open(frames[89])), "ok", "still inside the window, never seen");
});

Deno.test("peer-auth: a restarted receiver refuses what was sent before it started, then hears its peers", async () => {
  const { clock, n1, n2 } = await pair();
  const before = await n1.seal("n2", payload);
  assert.equal(reason(await n2.open(before)), "ok");
  const unseen = await n1.seal("n2", payload); // captured, never delivered to the first run
  await clock.advance(5);
  const restarted = new PeerAuthenticator({ self: "n2", keys, clock, maxClockSkewMs: 100 });
  assert.equal(reason(await restarted.open(before)), "sent-before-start");
  assert.equal(reason(await restarted.open(unseen)), "sent-before-start");
  assert.equal(reason(await restarted.open(await n1.seal("n2", payload))), "sent-before-start", "within the skew");
  await clock.advance(101);
  assert.equal(reason(await restarted.open(await n1.seal("n2", payload))), "ok");
  assert.equal(reason(await restarted.open(before)), "sent-before-start", "still refused later");
});

Deno.test("peer-auth: a restarted sender is heard at once, and its previous run's frames are refused", async () => {
  const { clock, n1, n2 } = await pair();
  const old = [await n1.seal("n2", payload), await n1.seal("n2", payload)];
  assert.equal(reason(await n2.open(old[0])), "ok");
  const again = new PeerAuthenticator({ self: "n1", keys, clock, maxClockSkewMs: 100 });
  assert.ok(again.session > n1.session, "sessions increase, even within one millisecond");
  assert.equal(reason(await n2.open(await again.seal("n2", payload))), "ok", "counters restart from 1");
  assert.equal(reason(await n2.open(old[1])), "stale-session");
});

Deno.test("peer-auth: frames stamped further ahead than the clock skew are refused", async () => {
  const clock = new ManualClock(10_000);
  const ahead = new ManualClock(10_500);
  const n2 = new PeerAuthenticator({ self: "n2", keys, clock, maxClockSkewMs: 100 });
  const n1 = new PeerAuthenticator({ self: "n1", keys, clock: ahead, maxClockSkewMs: 100 });
  await clock.advance(200);
  assert.equal(reason(await n2.open(await n1.seal("n2", payload))), "from-the-future");
  await clock.advance(250); // now 10,450: 50 ms behind the sender, within the skew
  assert.equal(reason(await n2.open(await n1.seal("n2", payload))), "ok");
});

Deno.test("peer-auth: ids are bounded; bad options are refused naming the field", async () => {
  const clock = new ManualClock();
  assert.throws(() => new PeerAuthenticator({ self: "", keys, clock }), /self/);
  assert.throws(() => new PeerAuthenticator({ self: "x".repeat(256), keys, clock }), /self/);
  assert.throws(() => new PeerAuthenticator({ self: "a", keys, clock, maxClockSkewMs: -1 }), /maxClockSkewMs/);
  assert.throws(() => new PeerAuthenticator({ self: "a", keys, clock, replayWindow: 33 }), /multiple of 32/);
  const n1 = new PeerAuthenticator({ self: "n1", keys, clock });
  await assert.rejects(n1.seal("é".repeat(128), payload), /to: node id/);
  assert.throws(() => clusterKeys(new Uint8Array(31)), ValidationError);
});

Deno.test("peer-auth: cluster keys are read as hex or base64 of at least 32 bytes", () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
  const base64 = btoa(String.fromCharCode(...bytes));
  assert.deepEqual(parseClusterKey(base64, "k"), bytes);
  assert.deepEqual(parseClusterKey(base64.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_"), "k"), bytes);
  assert.deepEqual(
    parseClusterKey(` ${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}\n`, "k"),
    bytes,
  );
  for (
    const [text, why] of [["ab".repeat(31), /at least 32 bytes, got 31/], ["not a key!", /hex or base64/]] as const
  ) {
    assert.throws(
      () => parseClusterKey(text, "options.clusterKey"),
      (error) =>
        error instanceof ValidationError && error.issues[0].path === "options.clusterKey" &&
        why.test(error.issues[0].message),
    );
  }
});

Deno.test("peer-auth: loadClusterKey reads a file or a variable, and names the option when it cannot", async () => {
  const directory = await mkdtemp(join(tmpdir(), "switchyard-key-"));
  try {
    const file = join(directory, "cluster.key");
    await writeFile(file, `${KEY}\n`);
    assert.deepEqual(await loadClusterKey({ clusterKeyFile: file, insecureNoAuth: false }), parseClusterKey(KEY, "k"));
    env.SWITCHYARD_TEST_CLUSTER_KEY = KEY;
    const fromEnv = await loadClusterKey({ clusterKeyEnv: "SWITCHYARD_TEST_CLUSTER_KEY", insecureNoAuth: false });
    assert.deepEqual(fromEnv, parseClusterKey(KEY, "k"));
    assert.equal(await loadClusterKey({ insecureNoAuth: true }), undefined);
    const cases: [Parameters<typeof loadClusterKey>[0], string, RegExp][] = [
      [{ insecureNoAuth: false }, "options.clusterKey", /must be authenticated/],
      [{ clusterKey: KEY, clusterKeyFile: file, insecureNoAuth: false }, "options.clusterKey", /only one/],
      [{ clusterKey: KEY, insecureNoAuth: true }, "options.clusterKey", /cannot be combined/],
      [{ clusterKeyFile: join(directory, "missing"), insecureNoAuth: false }, "options.clusterKeyFile", /cannot read/],
      [{ clusterKeyEnv: "SWITCHYARD_TEST_UNSET_KEY", insecureNoAuth: false }, "options.clusterKeyEnv", /not set/],
      [{ clusterKey: "abcd", insecureNoAuth: false }, "options.clusterKey", /at least 32 bytes/],
    ];
    for (const [options, path, why] of cases) {
      await assert.rejects(
        loadClusterKey(options),
        (error) => error instanceof ValidationError && error.issues[0].path === path && why.test(error.message),
        JSON.stringify(options),
      );
    }
  } finally {
    delete env.SWITCHYARD_TEST_CLUSTER_KEY;
    await rm(directory, { recursive: true, force: true });
  }
});

Deno.test("peer-auth: the replay window slides, forgets what falls behind, and resets for a newer session", () => {
  const window = new ReplayWindow(32);
  assert.equal(window.accept(1, 5), "fresh");
  assert.equal(window.accept(1, 3), "fresh");
  assert.equal(window.accept(1, 5), "replayed");
  assert.equal(window.accept(1, 36), "fresh"); // slides by 31: 5 is the oldest kept
  assert.equal(window.accept(1, 5), "replayed");
  assert.equal(window.accept(1, 4), "outside-window");
  assert.equal(window.accept(1, 20), "fresh");
  assert.equal(window.accept(1, 1000), "fresh"); // a jump past the whole window clears it
  assert.equal(window.accept(1, 999), "fresh");
  assert.equal(window.accept(1, 968), "outside-window");
  assert.equal(window.accept(2, 1), "fresh");
  assert.equal(window.accept(1, 1001), "stale-session");
  assert.equal(window.session, 2);
  assert.equal(window.highest, 1);
});

Deno.test("peer-auth: refusals are counted per reason and logged at most once per interval", async () => {
  const lines: { message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => lines.push({ message, fields: fields ?? {} }),
    error() {},
  };
  const clock = new ManualClock();
  const counter = new RejectionCounter(["bad-mac", "replayed"] as const, {
    logger,
    clock,
    subject: "peer frame",
    logEveryMs: 1000,
  });
  for (let i = 0; i < 5; i++) counter.record("bad-mac", { from: "evil" });
  counter.record("replayed");
  assert.deepEqual(counter.counts(), { "bad-mac": 5, replayed: 1 });
  assert.deepEqual(lines.map((line) => line.message), ["peer frame dropped: bad-mac", "peer frame dropped: replayed"]);
  await clock.advance(1000);
  counter.record("bad-mac");
  assert.equal(lines.length, 3);
  assert.deepEqual(lines[2].fields, { total: 6, suppressed: 4 });
});

Deno.test("peer-auth: epoch keys differ per epoch and from the base keys, so a frame sealed in one epoch opens in no other", async () => {
  const clock = new ManualClock(1_000);
  const startedAtMs = clock.now();
  await clock.advance(500);
  const seal = (epoch: number) =>
    new PeerAuthenticator({ self: "n1", keys: epochKeys(keys, epoch), clock, maxClockSkewMs: 100 });
  const opener = (epoch: number) =>
    new PeerAuthenticator({ self: "n2", keys: epochKeys(keys, epoch), clock, maxClockSkewMs: 100, startedAtMs });
  await clock.advance(1);
  const frame = await seal(3).seal("n2", payload);
  assert.equal(reason(await opener(5).open(frame)), "bad-mac", "another epoch's keys");
  assert.equal(
    reason(await new PeerAuthenticator({ self: "n2", keys, clock, maxClockSkewMs: 100, startedAtMs }).open(frame)),
    "bad-mac",
  );
  // Started after the process (startedAtMs), an epoch's engine takes its peers' first frames at once.
  assert.equal(reason(await opener(3).open(frame)), "ok");
  assert.notDeepEqual(await epochKeys(keys, 1).keyFor("n1", "n2"), await keys.keyFor("n1", "n2"));
  assert.throws(() => epochKeys(keys, -1), /epoch/);
  // Keys bound to a label: the same label, the same keys; another label, others.
  const bound = await labelledKeys(keys, "switchyard tally a").keyFor("n1", "n2");
  assert.deepEqual(await labelledKeys(keys, "switchyard tally a").keyFor("n1", "n2"), bound);
  assert.notDeepEqual(await labelledKeys(keys, "switchyard tally b").keyFor("n1", "n2"), bound);
  assert.throws(() => new PeerAuthenticator({ self: "n2", keys, clock, startedAtMs: clock.now() + 1 }), /startedAtMs/);
});
