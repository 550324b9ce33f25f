/**
 * Raft's safety properties, checked as the simulation runs: election
 * safety, log matching, leader completeness and state-machine safety.
 * Each check records violations instead of throwing, so a run reports all.
 *
 * @module
 */
import type { Entry } from "../../plugins/consensus-raft/types.ts";

/** What a check needs to see of a node's log. */
export interface LogView {
  /** Term at `index`, or undefined when not kept. */
  term(index: number): number | undefined;
  /** Index of the snapshot the kept entries follow. */
  readonly snapshotIndex: number;
  /** Last index. */
  readonly lastIndex: number;
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

  /** Election safety (at most one leader per term), then leader completeness for the new leader. */
  leaderElected(id: string, term: number, log: LogView): void {
    const existing = this.#leaders.get(term);
    if (existing !== undefined && existing !== id) {
      this.violations.push(`election safety: ${existing} and ${id} both lead term ${term}`);
    }
    this.#leaders.set(term, id);
    this.#checkCompleteness(id, term, log);
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
