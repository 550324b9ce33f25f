/**
 * The simulated network between nodes: per-message delay (which also
 * reorders), a long tail of late messages, drops, duplicates, partitions and
 * slow nodes, all from one seeded random.
 *
 * @module
 */
import type { Random } from "../../core/util/random.ts";
import type { EventQueue } from "./event_queue.ts";

/** How the network misbehaves. */
export interface NetworkFaults {
  /** Fewest milliseconds a message takes. */
  minDelayMs: number;
  /** Most milliseconds a message takes (messages overtake each other within the range). */
  maxDelayMs: number;
  /** Share of messages lost. */
  dropRatio: number;
  /** Share of messages delivered twice. */
  duplicateRatio: number;
  /** Share of messages held up far longer than the rest (a retransmission, a queue behind a burst). */
  tailRatio?: number;
  /** Extra milliseconds such a message takes, at most (at least a fifth of it). */
  tailDelayMs?: number;
}

/**
 * Delivers messages between named nodes.
 *
 * @example
 * ```ts
 * const network = new SimNetwork(queue, random, { minDelayMs: 1, maxDelayMs: 5, dropRatio: 0, duplicateRatio: 0 });
 * network.partition([["a"], ["b", "c"]]);
 * network.send("a", "b", () => {}); // dropped: a is cut off
 * ```
 */
export class SimNetwork {
  /** Current fault settings; may change during a run. */
  faults: NetworkFaults;
  /** Messages handed to the network, dropped, and duplicated. */
  readonly counts = { sent: 0, dropped: 0, duplicated: 0 };
  readonly #queue: EventQueue;
  readonly #random: Random;
  #group = new Map<string, number>();
  #extraDelayMs = new Map<string, number>();

  /** Creates a network on `queue`. */
  constructor(queue: EventQueue, random: Random, faults: NetworkFaults) {
    this.#queue = queue;
    this.#random = random;
    this.faults = faults;
  }

  /** Splits the nodes into groups that cannot reach each other. Unlisted nodes form group 0. */
  partition(groups: string[][]): void {
    this.#group = new Map(groups.flatMap((members, index) => members.map((id) => [id, index + 1] as const)));
  }

  /** Removes every partition. */
  heal(): void {
    this.#group.clear();
  }

  /** Slows every message to and from `id` by `extraMs` (0: back to normal): a slow link or an overloaded node. */
  slow(id: string, extraMs: number): void {
    if (extraMs > 0) this.#extraDelayMs.set(id, extraMs);
    else this.#extraDelayMs.delete(id);
  }

  /** True when `from` can reach `to` now. */
  connected(from: string, to: string): boolean {
    return (this.#group.get(from) ?? 0) === (this.#group.get(to) ?? 0);
  }

  /** Sends one message; `deliver` runs on arrival unless it is lost or a partition cuts it. */
  send(from: string, to: string, deliver: () => void): void {
    this.counts.sent++;
    const { minDelayMs, maxDelayMs, dropRatio, duplicateRatio, tailRatio = 0, tailDelayMs = 0 } = this.faults;
    if (!this.connected(from, to) || this.#random.next() < dropRatio) {
      this.counts.dropped++;
      return;
    }
    const copies = this.#random.next() < duplicateRatio ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    const extraMs = (this.#extraDelayMs.get(from) ?? 0) + (this.#extraDelayMs.get(to) ?? 0);
    for (let i = 0; i < copies; i++) {
      const tailMs = tailRatio > 0 && this.#random.next() < tailRatio
        ? this.#random.between(tailDelayMs / 5, tailDelayMs)
        : 0;
      this.#queue.after(extraMs + tailMs + this.#random.between(minDelayMs, maxDelayMs), () => {
        if (this.connected(from, to)) deliver();
      });
    }
  }
}
