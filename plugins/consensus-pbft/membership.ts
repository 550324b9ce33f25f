/**
 * Who the replicas are and how many make a quorum: with `n` replicas PBFT
 * tolerates `f = ⌊(n − 1) / 3⌋` Byzantine ones; a quorum is
 * `⌈(n + f + 1) / 2⌉` (2f + 1 when n = 3f + 1), so any two quorums share a
 * correct replica; `f + 1` replicas include at least one correct one.
 *
 * @module
 */
import { ConsensusError, type NodeId } from "../../core/contracts/consensus.ts";

/** The fixed replica set of a PBFT cluster. */
export class Membership {
  /** The replicas, sorted, so every replica agrees on the primary of each view. */
  readonly members: readonly NodeId[];
  /** Byzantine replicas tolerated. */
  readonly f: number;
  /** Replicas a certificate needs. */
  readonly quorum: number;
  /** Replicas that include at least one correct one. */
  readonly weak: number;
  readonly #set: ReadonlySet<NodeId>;

  /** Checks the list: at least one member, no duplicates, no empty ids. */
  constructor(members: readonly NodeId[]) {
    const set = new Set(members);
    if (members.length === 0) throw new ConsensusError("INVALID_ARGUMENT", "members: list at least one replica");
    if (set.size !== members.length) throw new ConsensusError("INVALID_ARGUMENT", "members: an id is listed twice");
    for (const id of members) {
      if (id.length === 0 || id.includes("#")) {
        throw new ConsensusError("INVALID_ARGUMENT", `members: "${id}" is not a valid replica id (non-empty, no '#')`);
      }
    }
    this.members = [...members].sort();
    this.#set = set;
    this.f = Math.floor((members.length - 1) / 3);
    this.quorum = Math.ceil((members.length + this.f + 1) / 2);
    this.weak = this.f + 1;
  }

  /** Number of replicas. */
  get size(): number {
    return this.members.length;
  }

  /** True for a replica of this cluster. */
  has(id: string): boolean {
    return this.#set.has(id);
  }

  /** The primary of `view`. */
  primaryOf(view: number): NodeId {
    return this.members[view % this.members.length];
  }
}
