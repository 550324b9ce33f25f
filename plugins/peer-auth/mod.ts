/**
 * `peer-auth`: the kit that authenticates frames between the nodes of a
 * cluster (used by `consensus-raft`; built for PBFT's pairwise authenticators
 * too). Not a plugin: a consensus plugin creates one
 * {@linkcode PeerAuthenticator} per node, seals each outgoing frame
 * (a batch of messages) with {@linkcode PeerAuthenticator.seal}, and opens
 * each incoming frame with {@linkcode PeerAuthenticator.open}, which returns
 * the sender and payload or a typed {@linkcode RejectionReason}.
 * HMAC-SHA-256 through `node:crypto` (synchronous; present on Deno, Bun and
 * Node) and key derivation through WebCrypto, so it runs on all three.
 *
 * **Keys.** One cluster secret (at least 32 bytes, hex or base64), from which
 * the key of each ordered pair (`from → to`) is derived with HKDF-SHA-256 and
 * imported once ({@linkcode clusterKeys}). Frames are tagged with
 * HMAC-SHA-256 over the whole header (sender, receiver, session, counter,
 * send time) and payload. Another {@linkcode PeerKeys} can hand each node only
 * its own pairs' keys.
 *
 * **What is guaranteed** (to a node that accepts a frame):
 *
 * 1. *Authenticity and integrity*: it was sealed, unchanged, under the key of
 *    (sender → this node), so by a holder of the cluster secret; it names this
 *    node as receiver and the sender it claims. A frame for another node, or
 *    from a sender the caller does not accept (`isPeer`, checked before any
 *    cryptography), is refused.
 * 2. *At most once, across restarts of either side*: each frame is accepted
 *    at most once by a node id, even after that node restarts, provided the
 *    node's own wall clock does not step back across its restart. Within one
 *    run of the receiver, a per-sender window (newest session, highest
 *    counter, a bitmap of the 1,024 counters below it) refuses repeats.
 *    Across its runs: a node refuses every frame stamped at or before its own
 *    start + `maxClockSkewMs`, and every frame stamped more than
 *    `maxClockSkewMs` ahead of its clock; so whatever a previous run accepted
 *    (stamped at most its clock + the skew, at a time before this start) is
 *    refused by the next run, whatever the other nodes' clocks say.
 * 3. *Old runs stay dead*: once a receiver has accepted a frame from a newer
 *    run (session) of a sender, frames of older runs are refused.
 *
 * Frames of one run that arrive out of order (over two connections during a
 * reconnect) are accepted, each once, while within 1,024 frames of the
 * newest; older ones are refused (`outside-window`), which a protocol that
 * tolerates loss (Raft, PBFT) absorbs. A frame that was sealed but never
 * accepted anywhere may still be accepted once later: that is delay, which
 * such protocols also tolerate.
 *
 * **What is assumed.** Nodes' wall clocks differ by at most `maxClockSkewMs`
 * (default 250 ms; NTP or chrony keep datacenters within a few ms): frames
 * from a node whose clock is further ahead are refused (`from-the-future`),
 * and after a start a node refuses its peers' frames for up to
 * 2 × `maxClockSkewMs` (counted as `sent-before-start`). A sender's session is
 * its start time in ms, so its clock must not step back across its restart by
 * more than its previous run lasted; otherwise receivers that heard the old
 * run refuse the new one (`stale-session`) until they restart. Members are
 * trusted: anyone holding the cluster secret can seal as any node, and by
 * opening a newer session in a node's name get that node's own frames
 * refused (PBFT's Byzantine members will need per-node keys or signatures). Confidentiality
 * is not provided: payloads travel in clear (use TLS for that).
 *
 * Memory: per sender, one window (136 bytes) and at most `maxSenders` of
 * them; per receiver, one counter; one imported key per pair.
 *
 * @example
 * ```ts
 * import { SystemClock } from "../../core/util/clock.ts";
 * import { clusterKeys, parseClusterKey, PeerAuthenticator } from "./mod.ts";
 * const keys = clusterKeys(parseClusterKey("6f".repeat(32), "clusterKey")); // use a secret of your own
 * const auth = new PeerAuthenticator({ self: "n1", keys, clock: new SystemClock(), isPeer: (id) => id === "n2" });
 * const frame = await auth.seal("n2", new Uint8Array([1, 2, 3]));
 * const opened = await auth.open(frame); // { ok: false, reason: "wrong-recipient", ... }: n1 sealed it for n2
 * ```
 *
 * @module
 */
export * from "./public.ts";
export { clusterKeyChoice, clusterKeyChoiceProblem, clusterKeyOptionEntries } from "./key_options.ts";
export { DEFAULT_REPLAY_WINDOW, type ReplayVerdict, ReplayWindow } from "./replay_window.ts";
export { RejectionCounter, type RejectionCounterOptions } from "./rejection_counter.ts";
