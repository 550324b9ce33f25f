/**
 * Fault injection: makes a replica equivocate, for tests and demonstrations
 * of what PBFT tolerates. Plugged into {@linkcode PbftConsensusOptions.outgoing},
 * it tells half of the other replicas the truth and the other half
 * something else, signed with the replica's own key: a different batch (in
 * another order, or shorter) in its pre-prepares, other digests in its
 * prepares, commits and checkpoints. A cluster with at most f such replicas
 * stays safe and live. Never configure it on a replica you rely on.
 *
 * @module
 */
import { batchDigest, checkpointSigningBytes, prepareSigningBytes, prePrepareSigningBytes } from "./codec.ts";
import type { Signer } from "./crypto.ts";
import type { MessageBody } from "./types.ts";

/** A filter over what a replica sends to one receiver. */
export type OutgoingFilter = (to: string, messages: MessageBody[]) => MessageBody[];

function otherDigest(digest: Uint8Array): Uint8Array {
  const changed = digest.slice();
  changed[0] ^= 0xff;
  return changed;
}

/** Lies to the receivers for which `deceived(to)` is true (default: every other one, by id). */
export function equivocatingFilter(signer: Signer, deceived?: (to: string) => boolean): OutgoingFilter {
  let order = 0;
  const seen = new Map<string, boolean>();
  const lieTo = deceived ?? ((to: string) => {
    if (!seen.has(to)) seen.set(to, order++ % 2 === 1);
    return seen.get(to)!;
  });
  return (to, messages) => {
    if (!lieTo(to)) return messages;
    return messages.map((message): MessageBody => {
      switch (message.type) {
        case "prePrepare": {
          const batch = message.batch && message.batch.length > 1 ? [...message.batch].reverse() : [];
          const digest = batchDigest(batch);
          const signature = signer.sign(prePrepareSigningBytes(message.view, message.sequence, digest));
          return { ...message, batch, digest, signature };
        }
        case "prepare": {
          const prepare = { ...message, digest: otherDigest(message.digest) };
          return { ...prepare, signature: signer.sign(prepareSigningBytes(prepare)) };
        }
        case "commit":
          return { ...message, digest: otherDigest(message.digest) };
        case "checkpoint": {
          const checkpoint = { ...message, stateDigest: otherDigest(message.stateDigest) };
          return { ...checkpoint, signature: signer.sign(checkpointSigningBytes(checkpoint)) };
        }
        default:
          return message;
      }
    });
  };
}
