/**
 * What a Raft node's `healthy` means, and the bookkeeping behind it.
 *
 * - A **follower** is healthy when it follows a leader whose heartbeat,
 *   append or snapshot it accepted within the last `horizonMs` (the election
 *   timeout), its answer to that leader's latest append was not a rejection,
 *   and it rejected none of that leader's appends within `horizonMs` (its
 *   log matches the leader's). A follower that cannot authenticate the
 *   leader's frames hears nothing from it; one whose log conflicts answers
 *   appends with rejections: neither is healthy. A follower catching up
 *   after a restart is unhealthy for one horizon after its last rejection.
 * - A **leader** is healthy when a quorum of the voters in force (itself
 *   included when it is one) acknowledged it, by a heartbeat answer or an
 *   accepted append of its term, within the last `horizonMs`.
 * - A candidate or pre-candidate is not healthy.
 *
 * @module
 */
import type { NodeId } from "../../core/contracts/consensus.ts";
import type { Raft } from "./raft.ts";
import type { Message } from "./types.ts";

/** Tracks leader contact (as a follower) and acknowledgements (as a leader). */
export class RaftHealth {
  readonly #horizonMs: number;
  #leader: NodeId | null = null;
  #contactMs = -Infinity;
  #rejecting = false;
  #rejectedMs = -Infinity;
  /** When each voter last acknowledged this node as leader of `#acksTerm`. */
  readonly #acksMs = new Map<NodeId, number>();
  #acksTerm = -1;

  /** Contact counts for `horizonMs` (the election timeout). */
  constructor(horizonMs: number) {
    this.#horizonMs = horizonMs;
  }

  /** Notes a message about to be stepped (after every check passed). */
  received(raft: Raft, message: Message, nowMs: number): void {
    if (raft.role !== "leader" || message.term !== raft.term) return;
    if (message.type === "heartbeatResp" || (message.type === "appendResp" && !message.reject)) {
      if (this.#acksTerm !== raft.term) {
        this.#acksMs.clear();
        this.#acksTerm = raft.term;
      }
      this.#acksMs.set(message.from, nowMs);
    }
  }

  /** Notes the messages a Ready sends: a follower's answers to its leader say whether it accepted. */
  sent(raft: Raft, messages: readonly Message[], nowMs: number): void {
    if (raft.role !== "follower" || raft.leader === null) return;
    this.#follow(raft.leader);
    for (const message of messages) {
      if (message.to !== raft.leader) continue;
      if (message.type === "heartbeatResp") this.#contactMs = nowMs;
      else if (message.type === "appendResp") {
        this.#rejecting = message.reject;
        if (message.reject) this.#rejectedMs = nowMs;
        else this.#contactMs = nowMs;
      }
    }
  }

  /** Whether `raft` is healthy now (see the module notes). */
  healthy(raft: Raft, nowMs: number): boolean {
    const since = nowMs - this.#horizonMs;
    if (raft.role === "leader") {
      const acked = (id: NodeId) => this.#acksTerm === raft.term && (this.#acksMs.get(id) ?? -Infinity) >= since;
      const acknowledged = raft.members.filter((id) => id === raft.id || acked(id));
      return acknowledged.length >= Math.floor(raft.members.length / 2) + 1;
    }
    if (raft.role !== "follower" || raft.leader === null || raft.leader !== this.#leader) return false;
    return !this.#rejecting && this.#rejectedMs < since && this.#contactMs >= since;
  }

  #follow(leader: NodeId): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#contactMs = -Infinity;
    this.#rejecting = false;
    this.#rejectedMs = -Infinity;
  }
}
