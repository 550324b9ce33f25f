/**
 * The log as one Raft node sees it: a snapshot prefix, then entries in
 * memory, with the commit index, what was handed out to apply, and what is
 * known to be on disk.
 *
 * @module
 */
import { RAFT_ERRORS } from "./errors.ts";
import type { NodeId } from "../../core/contracts/consensus.ts";
import { decodeMembership } from "./codec.ts";
import type { Entry, MembershipData, Snapshot } from "./types.ts";

/** Decodes the voter set of a `membership` entry (`FRAME_INVALID` when it holds none). */
export function membershipOf(entry: Entry): MembershipData {
  return decodeMembership(entry.data, `entries[${entry.index}].data`);
}

/** Approximate wire size of an entry, for batching. */
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + 24;
}

/**
 * A Raft log.
 *
 * @example
 * ```ts
 * import { RaftLog } from "./raft_log.ts";
 * const log = new RaftLog({ index: 0, term: 0, members: ["a"], data: new Uint8Array() }, []);
 * log.append([{ index: 1, term: 1, kind: "noop", data: new Uint8Array() }]);
 * log.lastIndex; // 1
 * ```
 */
export class RaftLog {
  /** The snapshot the entries follow. Its `data` may be empty when only metadata is kept. */
  snapshot: Snapshot;
  /** Entries from `snapshot.index + 1`. */
  entries: Entry[];
  /** Highest index known committed. */
  committed: number;
  /** Highest index handed out to apply. */
  applied: number;
  /** Highest index known persisted. */
  persisted: number;

  /** Restores a log from its snapshot and the entries after it. */
  constructor(snapshot: Snapshot, entries: Entry[], committed = snapshot.index) {
    this.snapshot = snapshot;
    this.entries = entries.filter((entry) => entry.index > snapshot.index);
    this.committed = Math.max(committed, snapshot.index);
    this.applied = snapshot.index;
    this.persisted = this.lastIndex;
  }

  /** Index of the first entry kept in memory. */
  get firstIndex(): number {
    return this.snapshot.index + 1;
  }

  /** Index of the last entry (the snapshot's when there are none). */
  get lastIndex(): number {
    return this.snapshot.index + this.entries.length;
  }

  /** Term of the last entry. */
  get lastTerm(): number {
    return this.term(this.lastIndex)!;
  }

  /** Term at `index`, or `undefined` when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshot.index) return this.snapshot.term;
    if (index < this.snapshot.index || index > this.lastIndex) return undefined;
    return this.entries[index - this.firstIndex].term;
  }

  /** The entry at `index`, if kept. */
  entry(index: number): Entry | undefined {
    if (index < this.firstIndex || index > this.lastIndex) return undefined;
    return this.entries[index - this.firstIndex];
  }

  /** True when this log has an entry at `index` with `term`. */
  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction: is a log ending at (`lastIndex`, `lastTerm`) at least as up to date as this one? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /**
   * Appends entries, replacing any conflicting suffix. Returns the lowest
   * index that changed (or `undefined` when nothing did).
   */
  append(entries: Entry[]): number | undefined {
    let changedFrom: number | undefined;
    for (const entry of entries) {
      if (entry.index <= this.snapshot.index) continue;
      const existing = this.term(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined) {
        if (entry.index <= this.committed) {
          throw RAFT_ERRORS.error(
            "LOG_INCONSISTENT",
            `raft: entry ${entry.index} conflicts with the committed log (term ${existing})`,
          );
        }
        this.entries.length = entry.index - this.firstIndex;
        this.persisted = Math.min(this.persisted, entry.index - 1);
      }
      if (entry.index !== this.lastIndex + 1) {
        throw RAFT_ERRORS.error(
          "LOG_INCONSISTENT",
          `raft: gap in the log: appending ${entry.index} after ${this.lastIndex}`,
        );
      }
      this.entries.push(entry);
      changedFrom ??= entry.index;
    }
    return changedFrom;
  }

  /** Entries from `from` on, at most `maxBytes` of them (always at least one). */
  slice(from: number, maxBytes = Infinity, maxCount = Infinity): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let index = from; index <= this.lastIndex && out.length < maxCount; index++) {
      const entry = this.entries[index - this.firstIndex];
      bytes += entrySizeBytes(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** Entries not yet persisted. */
  unpersisted(): Entry[] {
    return this.entries.slice(this.persisted + 1 - this.firstIndex);
  }

  /** Committed entries not yet handed out to apply (the caller persists unpersisted ones first). */
  toApply(): Entry[] {
    const upTo = this.committed;
    return upTo > this.applied
      ? this.entries.slice(this.applied + 1 - this.firstIndex, upTo + 1 - this.firstIndex)
      : [];
  }

  /** The voter set in force at `index` (the latest membership entry at or before it, else the snapshot's). */
  membersAt(index: number): NodeId[] {
    for (let i = Math.min(index, this.lastIndex); i >= this.firstIndex; i--) {
      const entry = this.entries[i - this.firstIndex];
      if (entry.kind === "membership") return membershipOf(entry).members;
    }
    return this.snapshot.members;
  }

  /** Index of the latest membership entry, or the snapshot's index when none is kept. */
  lastMembershipIndex(): number {
    for (let i = this.lastIndex; i >= this.firstIndex; i--) {
      if (this.entries[i - this.firstIndex].kind === "membership") return i;
    }
    return this.snapshot.index;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = [];
    this.committed = snapshot.index;
    this.applied = snapshot.index;
    this.persisted = snapshot.index;
  }

  /** Drops entries up to `index` (applied), keeping `snapshot` as the new prefix. */
  compact(snapshot: Snapshot): void {
    this.entries = this.entries.slice(snapshot.index + 1 - this.firstIndex);
    this.snapshot = snapshot;
  }
}
