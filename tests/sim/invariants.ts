/**
 * Raft's safety properties, checked as the simulation runs: one vote per
 * node and term, election safety, current-term entries kept, log matching, leader completeness and state-machine safety, and
 * commit durability: the moment an entry counts as committed, no node that
 * lacks it may be able to win an election (that node would be a future
 * leader without a committed entry; the violation is caught when it becomes
 * possible, not only in the schedules that go on to elect that node).
 * Each check records violations instead of throwing, so a run reports all.
 *
 * @module
 */
import type { Entry, Ready } from "../../plugins/consensus-raft/types.ts";

/** What a check needs to see of a node's log. */
export interface LogView {
  /** Term at `index`, or undefined when not kept. */
  term(index: number): number | undefined;
  /** Index of the snapshot the kept entries follow. */
  readonly snapshotIndex: number;
  /** Last index. */
  readonly lastIndex: number;
}

/** What the commit-durability check needs of a node that might campaign: its durable log's end and its voters. */
export interface CandidateView extends LogView {
  /** Node id. */
  readonly id: string;
  /** Term of the last entry. */
  readonly lastTerm: number;
  /** The voter set this node counts votes in (its latest membership). */
  readonly members: readonly string[];
}

const decoder = new TextDecoder();

function identity(entry: Entry): string {
  return `${entry.kind}:${decoder.decode(entry.data)}`;
}

/**
 * Collects Raft invariant violations.
 *
 * @example
 * ```ts
 * const checker = new RaftInvariants();
 * checker.leaderElected("a", 1, view);
 * checker.leaderElected("b", 1, view); // violation: two leaders in term 1
 * ```
 */
export class RaftInvariants {
  /** Every violation found, in order. */
  readonly violations: string[] = [];
  #leaders = new Map<number, string>();
  #entries = new Map<string, { identity: string; prevTerm: number | undefined }>();
  #applied = new Map<number, string>();
  #appliedTerm = new Map<number, number>();
  #commitTerm = new Map<number, number>();
  #votes = new Map<string, string>();

  /** One vote per term: `voter` granted its (real, not pre-) vote to `candidate` in `term`. */
  voteGranted(voter: string, candidate: string, term: number): void {
    const key = `${voter}:${term}`;
    const earlier = this.#votes.get(key);
    if (earlier !== undefined && earlier !== candidate) {
      this.violations.push(`vote safety: ${voter} voted for ${earlier} and for ${candidate} in term ${term}`);
    }
    this.#votes.set(key, candidate);
  }

  /** Election safety (at most one leader per term), then leader completeness for the new leader. */
  leaderElected(id: string, term: number, log: LogView): void {
    const existing = this.#leaders.get(term);
    if (existing !== undefined && existing !== id) {
      this.violations.push(`election safety: ${existing} and ${id} both lead term ${term}`);
    }
    this.#leaders.set(term, id);
    this.#checkCompleteness(id, term, log);
  }

  /**
   * Current-term entries are kept: a node never drops an entry of the term it
   * is in (only that term's leader creates them, and it never overwrites its
   * own), so what it acknowledged in this term stays. `stored` is the node's
   * durable log, `update` what is about to replace part of it.
   */
  entriesKept(node: string, term: number, stored: readonly Entry[], update: Pick<Ready, "entries" | "snapshot">): void {
    const from = update.snapshot ? update.snapshot.index + 1 : update.entries[0]?.index;
    if (from === undefined || stored.length === 0) return;
    const base = stored[0].index;
    for (let index = Math.max(from, base); index < base + stored.length; index++) {
      const old = stored[index - base];
      if (old.term !== term) continue;
      const replacement = update.snapshot ? undefined : update.entries[index - from];
      if (replacement?.term !== term) {
        this.violations.push(`entries kept: ${node} drops entry ${index} of its current term ${term}`);
        return;
      }
    }
  }

  /** Log matching: an (index, term) pair always holds the same entry after the same predecessor. */
  entryPersisted(node: string, entry: Entry, prevTerm: number | undefined): void {
    const key = `${entry.index}:${entry.term}`;
    const seen = this.#entries.get(key);
    const current = { identity: identity(entry), prevTerm };
    if (!seen) {
      this.#entries.set(key, current);
      return;
    }
    if (seen.identity !== current.identity) {
      this.violations.push(`log matching: ${node} has a different entry at index ${entry.index} term ${entry.term}`);
    } else if (seen.prevTerm !== undefined && prevTerm !== undefined && seen.prevTerm !== prevTerm) {
      this.violations.push(
        `log matching: ${node} has entry ${key} after term ${prevTerm}, another node after term ${seen.prevTerm}`,
      );
    }
  }

  /**
   * State-machine safety: no two nodes apply different entries at one index.
   * `observerTerm` is the applying node's term, an upper bound of the term the
   * entry was committed in; leaders of later terms are then checked for it.
   */
  entryApplied(node: string, entry: Entry, observerTerm: number, leaders: Iterable<[string, number, LogView]>): void {
    const applied = this.#applied.get(entry.index);
    const current = identity(entry);
    if (applied === undefined) {
      this.#applied.set(entry.index, current);
      this.#appliedTerm.set(entry.index, entry.term);
    } else if (applied !== current || this.#appliedTerm.get(entry.index) !== entry.term) {
      this.violations.push(`state machine safety: ${node} applied a different entry at index ${entry.index}`);
    }
    const commitTerm = Math.min(this.#commitTerm.get(entry.index) ?? Infinity, observerTerm);
    this.#commitTerm.set(entry.index, commitTerm);
    for (const [id, term, log] of leaders) {
      if (term > commitTerm) this.#checkIndex(id, term, log, entry.index);
    }
  }

  /**
   * Commit durability: `node` now counts (`index`, `term`) as committed. Every
   * node lacking that entry must be unable to win an election: a candidate
   * wins with the votes of a majority of its voters whose logs are no more up
   * to date than its own (Raft's election restriction), and terms and votes
   * can always be moved on by some schedule, so such a node could become a
   * leader without the entry. `nodes` views every node, crashed ones by their
   * durable state.
   */
  committed(node: string, index: number, term: number, nodes: readonly CandidateView[]): void {
    const byId = new Map(nodes.map((view) => [view.id, view]));
    for (const candidate of nodes) {
      if (index <= candidate.snapshotIndex || candidate.term(index) === term) continue; // it has the entry
      if (!candidate.members.includes(candidate.id)) continue; // not a voter: cannot campaign
      const voters = candidate.members.filter((id) => {
        const voter = byId.get(id);
        return voter !== undefined && (candidate.lastTerm > voter.lastTerm ||
          (candidate.lastTerm === voter.lastTerm && candidate.lastIndex >= voter.lastIndex));
      });
      if (voters.length >= Math.floor(candidate.members.length / 2) + 1) {
        this.violations.push(
          `commit durability: ${node} counts ${index} (term ${term}) as committed, but ${candidate.id} lacks it and ` +
            `could be elected by ${voters.join(", ")}`,
        );
        return;
      }
    }
  }

  #checkCompleteness(id: string, term: number, log: LogView): void {
    for (const [index, commitTerm] of this.#commitTerm) if (commitTerm < term) this.#checkIndex(id, term, log, index);
  }

  #checkIndex(id: string, term: number, log: LogView, index: number): void {
    if (index <= log.snapshotIndex) return; // covered by the snapshot, which only holds committed state
    const expected = this.#appliedTerm.get(index);
    const actual = log.term(index);
    if (actual !== expected) {
      this.violations.push(
        `leader completeness: ${id}, leader of term ${term}, has term ${actual} at committed index ${index} (expected ${expected})`,
      );
    }
  }
}
