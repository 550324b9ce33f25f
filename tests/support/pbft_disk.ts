/**
 * A PBFT replica's disk as the driver uses it, for the tests' clusters of
 * pure state machines (the directed-test cluster and the simulation): what a
 * Ready persists is synced with it, except the records the driver holds
 * back for its next sync (`isDeferrable`), which a crash loses.
 *
 * @module
 */
import { isDeferrable } from "../../plugins/consensus-pbft/driver.ts";
import type { DurableRecord, PbftReady } from "../../plugins/consensus-pbft/types.ts";

/** Synced records, and those held back for the next sync. */
export class DriverDisk {
  /** What a restart finds: the synced records. */
  records: DurableRecord[] = [];
  #heldBack: DurableRecord[] = [];

  /** Everything written since the last compaction, synced or held back. */
  get persisted(): DurableRecord[] {
    return [...this.records, ...this.#heldBack];
  }

  /** Writes what `ready` persists, or its compacted state, the way the driver does. */
  write(ready: Pick<PbftReady, "persist" | "compact">): void {
    if (ready.compact) {
      this.records = [...ready.compact];
      this.#heldBack = [];
    } else if (ready.persist.every(isDeferrable)) {
      this.#heldBack.push(...ready.persist);
    } else {
      this.records.push(...this.#heldBack, ...ready.persist);
      this.#heldBack = [];
    }
  }

  /** A crash: what was held back for the next sync is lost. */
  crash(): void {
    this.#heldBack = [];
  }
}
