/**
 * Where a Raft node keeps what must survive a restart: hard state, the
 * latest snapshot, and the entries after it. {@linkcode MemoryStorage} for
 * tests and simulations; `FileWal` (file_wal.ts) for real nodes.
 *
 * @module
 */
import type { RaftDurableState } from "./raft.ts";
import type { Entry, HardState, Snapshot } from "./types.ts";

/** One durable update, written as a whole. */
export interface StorageUpdate {
  /** A snapshot from the leader: replaces the whole log. */
  snapshot?: Snapshot;
  /** Entries; they replace any stored from `entries[0].index` on. */
  entries: Entry[];
  /** The new hard state. */
  hardState?: HardState;
}

/** Durable storage of one Raft node. */
export interface RaftStorage {
  /** What was stored, or `null` for a node that never ran. */
  load(): Promise<RaftDurableState | null>;
  /** Persists an update; durable (synced) once it resolves. */
  save(update: StorageUpdate): Promise<void>;
  /** Records a local snapshot and drops the entries it covers. */
  compact(snapshot: Snapshot): Promise<void>;
  /** Releases files. */
  close(): Promise<void>;
}

/** Applies an update to a durable state in memory (shared by both storages). */
export function applyUpdate(state: RaftDurableState, update: StorageUpdate): void {
  if (update.snapshot) {
    state.snapshot = update.snapshot;
    state.entries = [];
  }
  if (update.entries.length > 0) {
    // Stored entries are contiguous, so the first one replaced sits at a known position.
    const keep = update.entries[0].index - (state.entries[0]?.index ?? update.entries[0].index);
    if (keep < state.entries.length) state.entries.length = Math.max(0, keep);
    for (const entry of update.entries) state.entries.push(entry);
  }
  if (update.hardState) state.hardState = { ...update.hardState };
}

/** Drops the entries a snapshot covers. */
export function applyCompaction(state: RaftDurableState, snapshot: Snapshot): void {
  state.snapshot = snapshot;
  state.entries = state.entries.filter((entry) => entry.index > snapshot.index);
}

/**
 * Storage in memory: survives a simulated restart of the node object, not
 * of the process.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "./storage.ts";
 * const storage = new MemoryStorage();
 * await storage.save({ entries: [], hardState: { term: 1, vote: "a", commit: 0 } });
 * ```
 */
export class MemoryStorage implements RaftStorage {
  #state: RaftDurableState | null = null;

  /** The stored state. */
  load(): Promise<RaftDurableState | null> {
    const state = this.#state;
    return Promise.resolve(
      state && { hardState: { ...state.hardState }, snapshot: state.snapshot, entries: [...state.entries] },
    );
  }

  /** Stores an update. */
  save(update: StorageUpdate): Promise<void> {
    this.#state ??= emptyState();
    applyUpdate(this.#state, update);
    return Promise.resolve();
  }

  /** Stores a snapshot and drops what it covers. */
  compact(snapshot: Snapshot): Promise<void> {
    this.#state ??= emptyState();
    applyCompaction(this.#state, snapshot);
    return Promise.resolve();
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A state with nothing in it yet. */
export function emptyState(): RaftDurableState {
  return {
    hardState: { term: 0, vote: null, commit: 0 },
    snapshot: { index: 0, term: 0, members: [], data: new Uint8Array() },
    entries: [],
  };
}
