/**
 * The checks of everything a replica must prove to others, and the new
 * primary's plan for a new view. All pure: each check returns `undefined`
 * when the value is valid, or the reason it is not.
 *
 * - A stable checkpoint needs a quorum of matching checkpoints signed by
 *   distinct members.
 * - A prepared certificate needs the pre-prepare signed by the primary of
 *   its view and quorum − 1 matching prepares signed by distinct backups.
 * - A view change needs its author's signature, a valid stable checkpoint,
 *   and valid certificates, at most one per sequence, inside the window
 *   above the checkpoint, from views before the new one.
 * - A new view needs a quorum of valid view changes for its view from
 *   distinct replicas, and exactly the pre-prepares they imply
 *   ({@linkcode planNewView}), signed by the new primary.
 *
 * @module
 */
import { batchDigest, checkpointSigningBytes, prepareSigningBytes, prePrepareSigningBytes } from "./codec.ts";
import { viewChangeSigningBytes } from "./codec.ts";
import { newViewSigningBytes } from "./codec.ts";
import type { Verifier } from "./crypto.ts";
import type { Membership } from "./membership.ts";
import type { Digest, NewView, PreparedCertificate, Request, StableCheckpoint, ViewChange } from "./types.ts";

/** What the checks need to know. */
export interface CertificateContext {
  /** The replicas. */
  membership: Membership;
  /** Checks signatures. */
  verifier: Verifier;
  /** Sequences a view change may cover above its stable checkpoint. */
  windowSize: number;
}

/** True when two digests are the same bytes. */
export function sameDigest(a: Digest, b: Digest): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A digest as text, for map keys and logs. */
export function digestKey(digest: Digest): string {
  let text = "";
  for (const byte of digest) text += byte.toString(16).padStart(2, "0");
  return text;
}

/** Checks a stable checkpoint: sequence 0 is the initial state; others need a quorum of signed checkpoints. */
export function checkStable(stable: StableCheckpoint, context: CertificateContext): string | undefined {
  if (stable.sequence === 0) {
    return stable.proof.length === 0 && stable.stateDigest.length === 0
      ? undefined
      : "the initial checkpoint carries no digest and no proof";
  }
  const signers = new Set<string>();
  for (const checkpoint of stable.proof) {
    if (checkpoint.sequence !== stable.sequence || !sameDigest(checkpoint.stateDigest, stable.stateDigest)) {
      return `checkpoint proof from ${checkpoint.replica} does not match`;
    }
    if (!context.membership.has(checkpoint.replica)) return `checkpoint proof from non-member ${checkpoint.replica}`;
    if (signers.has(checkpoint.replica)) return `checkpoint proof lists ${checkpoint.replica} twice`;
    if (!context.verifier.verify(checkpoint.replica, checkpointSigningBytes(checkpoint), checkpoint.signature)) {
      return `checkpoint proof signature of ${checkpoint.replica} is invalid`;
    }
    signers.add(checkpoint.replica);
  }
  return signers.size >= context.membership.quorum
    ? undefined
    : `checkpoint proof has ${signers.size} signers, needs ${context.membership.quorum}`;
}

/** Checks a prepared certificate (and, with `requireBatch`, that its batch is there and matches). */
export function checkCertificate(
  certificate: PreparedCertificate,
  context: CertificateContext,
  requireBatch: boolean,
): string | undefined {
  const { prePrepare, prepares } = certificate;
  const { membership, verifier } = context;
  const primary = membership.primaryOf(prePrepare.view);
  const where = `certificate for ${prePrepare.sequence} in view ${prePrepare.view}`;
  if (
    !verifier.verify(
      primary,
      prePrepareSigningBytes(prePrepare.view, prePrepare.sequence, prePrepare.digest),
      prePrepare.signature,
    )
  ) {
    return `${where}: pre-prepare not signed by the primary ${primary}`;
  }
  if (requireBatch) {
    if (!prePrepare.batch) return `${where}: batch missing`;
    if (!sameDigest(batchDigest(prePrepare.batch), prePrepare.digest)) {
      return `${where}: batch does not match its digest`;
    }
  }
  const signers = new Set<string>();
  for (const prepare of prepares) {
    if (
      prepare.view !== prePrepare.view || prepare.sequence !== prePrepare.sequence ||
      !sameDigest(prepare.digest, prePrepare.digest)
    ) return `${where}: prepare from ${prepare.replica} does not match`;
    if (!membership.has(prepare.replica) || prepare.replica === primary) {
      return `${where}: prepare from ${prepare.replica}, who is not a backup`;
    }
    if (signers.has(prepare.replica)) return `${where}: prepare from ${prepare.replica} twice`;
    if (!verifier.verify(prepare.replica, prepareSigningBytes(prepare), prepare.signature)) {
      return `${where}: prepare signature of ${prepare.replica} is invalid`;
    }
    signers.add(prepare.replica);
  }
  return signers.size >= membership.quorum - 1
    ? undefined
    : `${where}: ${signers.size} prepares, needs ${membership.quorum - 1}`;
}

/** Checks a view change; `requireBatches` when it came straight from its author (inside a new view they are left out). */
export function checkViewChange(
  viewChange: ViewChange,
  context: CertificateContext,
  requireBatches: boolean,
): string | undefined {
  if (!context.membership.has(viewChange.replica)) return `view change from non-member ${viewChange.replica}`;
  if (!context.verifier.verify(viewChange.replica, viewChangeSigningBytes(viewChange), viewChange.signature)) {
    return `view change signature of ${viewChange.replica} is invalid`;
  }
  const stableProblem = checkStable(viewChange.stable, context);
  if (stableProblem) return stableProblem;
  let previous = viewChange.stable.sequence;
  for (const certificate of viewChange.prepared) {
    const { sequence, view } = certificate.prePrepare;
    if (sequence <= previous) return `certificates not in increasing order above the checkpoint at ${sequence}`;
    if (sequence > viewChange.stable.sequence + context.windowSize) {
      return `certificate at ${sequence} beyond the window`;
    }
    if (view >= viewChange.view) return `certificate from view ${view}, not before ${viewChange.view}`;
    const problem = checkCertificate(certificate, context, requireBatches);
    if (problem) return problem;
    previous = sequence;
  }
  return undefined;
}

/** What a new view must contain, computed from the view changes alone. */
export interface NewViewPlan {
  /** The highest stable checkpoint among the view changes. */
  stable: StableCheckpoint;
  /** Per open sequence, in order: the digest to pre-prepare again, and its batch when a view change carried it. */
  slots: { sequence: number; digest: Digest; batch?: Request[] }[];
}

const EMPTY_BATCH: Request[] = [];
const EMPTY_DIGEST = batchDigest(EMPTY_BATCH);

/** The digest of the empty batch that fills a gap in a new view. */
export function nullDigest(): Digest {
  return EMPTY_DIGEST;
}

/**
 * The new view's pre-prepares: above the highest stable checkpoint, each
 * sequence some view change prepared gets the certificate of the highest
 * view; gaps up to the highest such sequence get the empty batch.
 */
export function planNewView(viewChanges: readonly ViewChange[]): NewViewPlan {
  let stable = viewChanges[0].stable;
  for (const viewChange of viewChanges) if (viewChange.stable.sequence > stable.sequence) stable = viewChange.stable;
  const best = new Map<number, PreparedCertificate>();
  for (const viewChange of viewChanges) {
    for (const certificate of viewChange.prepared) {
      const { sequence, view, digest } = certificate.prePrepare;
      if (sequence <= stable.sequence) continue;
      const current = best.get(sequence);
      const better = !current || view > current.prePrepare.view ||
        (view === current.prePrepare.view && digestKey(digest) < digestKey(current.prePrepare.digest)) ||
        (view === current.prePrepare.view && sameDigest(digest, current.prePrepare.digest) &&
          !current.prePrepare.batch && certificate.prePrepare.batch !== undefined);
      if (better) best.set(sequence, certificate);
    }
  }
  const highest = Math.max(stable.sequence, ...best.keys());
  const slots: NewViewPlan["slots"] = [];
  for (let sequence = stable.sequence + 1; sequence <= highest; sequence++) {
    const certificate = best.get(sequence);
    slots.push(
      certificate
        ? { sequence, digest: certificate.prePrepare.digest, batch: certificate.prePrepare.batch }
        : { sequence, digest: EMPTY_DIGEST, batch: EMPTY_BATCH },
    );
  }
  return { stable, slots };
}

/** Checks a new view: signature, a quorum of valid view changes for its view, and exactly the planned pre-prepares. */
export function checkNewView(newView: NewView, context: CertificateContext): string | undefined {
  const { membership, verifier } = context;
  const primary = membership.primaryOf(newView.view);
  if (newView.replica !== primary) {
    return `new view ${newView.view} from ${newView.replica}, not its primary ${primary}`;
  }
  if (!verifier.verify(primary, newViewSigningBytes(newView), newView.signature)) {
    return "new view signature is invalid";
  }
  const authors = new Set<string>();
  for (const viewChange of newView.viewChanges) {
    if (viewChange.view !== newView.view) return `new view carries a view change for view ${viewChange.view}`;
    if (authors.has(viewChange.replica)) return `new view carries two view changes from ${viewChange.replica}`;
    const problem = checkViewChange(viewChange, context, false);
    if (problem) return `new view carries an invalid view change: ${problem}`;
    authors.add(viewChange.replica);
  }
  if (authors.size < membership.quorum) {
    return `new view carries ${authors.size} view changes, needs ${membership.quorum}`;
  }
  const plan = planNewView(newView.viewChanges);
  if (plan.slots.length !== newView.prePrepares.length) {
    return `new view has ${newView.prePrepares.length} pre-prepares, the view changes imply ${plan.slots.length}`;
  }
  for (let i = 0; i < plan.slots.length; i++) {
    const slot = plan.slots[i];
    const prePrepare = newView.prePrepares[i];
    if (
      prePrepare.view !== newView.view || prePrepare.sequence !== slot.sequence ||
      !sameDigest(prePrepare.digest, slot.digest)
    ) return `new view pre-prepare at ${slot.sequence} differs from what the view changes imply`;
    if (
      !verifier.verify(
        primary,
        prePrepareSigningBytes(prePrepare.view, prePrepare.sequence, prePrepare.digest),
        prePrepare.signature,
      )
    ) {
      return `new view pre-prepare at ${slot.sequence} is not signed by ${primary}`;
    }
    if (!prePrepare.batch || !sameDigest(batchDigest(prePrepare.batch), prePrepare.digest)) {
      return `new view pre-prepare at ${slot.sequence} lacks its batch`;
    }
  }
  return undefined;
}
