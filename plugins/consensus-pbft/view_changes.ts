/**
 * The view changes a replica holds: per replica, one per view, for the few
 * highest views above the current one (so a replica that sends many cannot
 * grow it). Castro and Liskov keep every view change in the log; keeping
 * several per replica, not just the latest, matters for liveness: a replica
 * that moved on to a higher view still counts for the view it left, so the
 * replicas behind it can still gather a quorum there.
 *
 * @module
 */
import type { NodeId } from "../../core/contracts/consensus.ts";
import type { ViewChange } from "./types.ts";

/** View changes by replica and view. */
export class ViewChangeLog {
  readonly #byReplica = new Map<NodeId, Map<number, ViewChange>>();
  readonly #viewsPerReplica: number;

  /** Keeps at most `viewsPerReplica` views per replica (the highest). */
  constructor(viewsPerReplica = 8) {
    this.#viewsPerReplica = viewsPerReplica;
  }

  /** True when `replica`'s view change for `view` is held. */
  has(replica: NodeId, view: number): boolean {
    return this.#byReplica.get(replica)?.has(view) ?? false;
  }

  /** `replica`'s view change for `view`, if held. */
  get(replica: NodeId, view: number): ViewChange | undefined {
    return this.#byReplica.get(replica)?.get(view);
  }

  /** Holds a (checked) view change; the lowest view of that replica goes when it has too many. */
  add(viewChange: ViewChange): void {
    let views = this.#byReplica.get(viewChange.replica);
    if (!views) this.#byReplica.set(viewChange.replica, views = new Map());
    views.set(viewChange.view, viewChange);
    if (views.size > this.#viewsPerReplica) views.delete(Math.min(...views.keys()));
  }

  /** The view changes for exactly `view`, one per replica. */
  forView(view: number): ViewChange[] {
    const found: ViewChange[] = [];
    for (const views of this.#byReplica.values()) {
      const change = views.get(view);
      if (change) found.push(change);
    }
    return found;
  }

  /**
   * The view to join once `weak` replicas moved beyond `current`: the
   * highest view that `weak` replicas have each reached, or undefined.
   */
  joinable(current: number, weak: number): number | undefined {
    const highest: number[] = [];
    for (const views of this.#byReplica.values()) {
      const top = Math.max(...views.keys());
      if (top > current) highest.push(top);
    }
    if (highest.length < weak) return undefined;
    return highest.sort((a, b) => b - a)[weak - 1];
  }

  /** Forgets every view change for `view` and below. */
  discardUpTo(view: number): void {
    for (const [replica, views] of this.#byReplica) {
      for (const held of views.keys()) if (held <= view) views.delete(held);
      if (views.size === 0) this.#byReplica.delete(replica);
    }
  }
}
