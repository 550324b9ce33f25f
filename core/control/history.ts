/**
 * The record of every switch attempt, kept in a bounded ring.
 *
 * @module
 */
import type { Variant } from "../contracts/component.ts";
import type { Mode } from "../contracts/mode.ts";
import type { NetworkSample } from "../contracts/sample.ts";

/** Why a switch was attempted. */
export type SwitchOrigin = "auto" | "forced" | "flags";

/** One switch attempt: what, why, when, how long, and how it ended. */
export interface SwitchRecord {
  /** Sequence number, from 1. */
  id: number;
  /** Mode before the switch. */
  from: Mode;
  /** Mode the switch aimed for. */
  to: Mode;
  /** Variant before the switch. */
  fromVariant: Variant;
  /** Variant the switch aimed for. */
  toVariant: Variant;
  /** Why: the detector's explanation, the operator's reason, or the flag that changed. */
  reason: string;
  /** What asked for the switch. */
  origin: SwitchOrigin;
  /** When the switch started (clock ms). */
  atMs: number;
  /** How long it took, activation to deactivation. */
  durationMs: number;
  /** `success`; `failed` when it was rolled back; `refused` when the target mode cannot be served. */
  outcome: "success" | "failed" | "refused";
  /** Why it failed or was refused. */
  error?: string;
  /** Components whose drain was cut at `drainTimeoutMs`. */
  drainTimeouts: string[];
  /** The median sample behind an automatic switch. */
  sample?: NetworkSample;
  /**
   * The cluster's agreement, when a component carries one: this node
   * reported its medians and waited up to `agreementTimeoutMs`; `agreed`
   * when the cluster decided the same mode in time, `pending` otherwise (the
   * cluster-wide parts, e.g. the consensus engine, stay on the cluster's
   * mode; the node's own components switched).
   */
  agreement?: { status: "agreed" | "pending"; clusterMode: Mode; waitedMs: number };
}

/**
 * Keeps the last `limit` records.
 *
 * @example
 * ```ts
 * import { History } from "./history.ts";
 * const history = new History<number>(2);
 * history.push(1); history.push(2); history.push(3);
 * history.list(); // [2, 3]
 * ```
 */
export class History<T> {
  readonly #limit: number;
  #items: T[] = [];

  /** Creates a history keeping at most `limit` items. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Appends an item, dropping the oldest beyond the limit. */
  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.#limit) this.#items.splice(0, this.#items.length - this.#limit);
  }

  /** The kept items, oldest first (a copy). */
  list(): T[] {
    return [...this.#items];
  }
}
