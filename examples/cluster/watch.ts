/**
 * Watches the cluster from outside: polls every node's `GET /status` (its
 * manager's mode, the agreed cluster mode with its reason, the adaptive
 * engine's epoch and engine, its Raft or PBFT role) and turns what changes
 * into events: a new agreed decision (first seen on any node), and the
 * moment every running node serves it on the engine it calls for.
 *
 * @module
 */
import type { AgreedMode, Mode } from "@switchyard/hybrid";

/** What one node said last. */
export interface NodeView {
  /** The node. */
  id: string;
  /** False when it did not answer the last poll. */
  up: boolean;
  /** Its manager's mode (its own detector's view, the local components it serves). */
  mode?: Mode;
  /** The cluster's agreed mode, as this node applied it. */
  agreed?: AgreedMode;
  /** The adaptive engine's epoch. */
  epoch?: number;
  /** The epoch's engine. */
  engine?: string;
  /** Its role in that engine. */
  role?: string;
  /** Whether its engine is healthy. */
  healthy?: boolean;
  /** The mode of its link to each peer, by peer id. */
  links?: Record<string, Mode>;
}

/** A decision of the cluster, as the watcher saw it. */
export interface Decision {
  /** When a node first reported it (ms, `performance.now()`). */
  seenAtMs: number;
  /** When every running node served it on its engine, if that happened. */
  settledAtMs?: number;
  /** The mode before. */
  from: Mode;
  /** The decision. */
  agreed: AgreedMode;
}

/** How the watcher reports. */
export interface WatchEvents {
  /** A node reported a decision newer than any before. */
  decided?(decision: Decision): void;
  /** Every running node serves `decision`. */
  settled?(decision: Decision): void;
}

/** The engine a mode runs on (the adaptive engine's default choice). */
export function engineFor(mode: Mode): "raft" | "pbft" {
  return mode === "internet" ? "pbft" : "raft";
}

/** Polls the nodes and keeps the decisions in order. */
export class ClusterWatch {
  /** Each node's last answer, by id. */
  readonly views = new Map<string, NodeView>();
  /** Every decision seen, oldest first (the initial mode is not one). */
  readonly decisions: Decision[] = [];
  readonly #urls: Record<string, string>;
  readonly #events: WatchEvents;
  readonly #initialMode: Mode;
  #latest: AgreedMode | undefined;

  /**
   * Watches the nodes at `urls` (id → key-value URL), whose cluster started
   * in `initialMode`.
   */
  constructor(urls: Record<string, string>, initialMode: Mode, events: WatchEvents = {}) {
    this.#urls = urls;
    this.#initialMode = initialMode;
    this.#events = events;
    for (const id of Object.keys(urls)) this.views.set(id, { id, up: false });
  }

  /** The cluster's agreed mode as far as any node reported (undefined before the first answer). */
  get agreedMode(): Mode | undefined {
    return this.#latest?.mode;
  }

  /** Polls every node once (each answer bounded by `timeoutMs`) and reports what changed. */
  async poll(timeoutMs = 1_000): Promise<void> {
    await Promise.all(
      Object.entries(this.#urls).map(async ([id, url]) => {
        try {
          const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(timeoutMs) });
          const status = await response.json();
          this.views.set(id, {
            id,
            up: response.ok,
            mode: status.mode,
            agreed: status.agreed,
            epoch: status.epoch,
            engine: status.engine,
            role: status.role,
            healthy: status.healthy,
            links: status.links,
          });
        } catch {
          this.views.set(id, { ...this.views.get(id)!, up: false });
        }
      }),
    );
    const now = performance.now();
    for (const view of this.views.values()) {
      const agreed = view.agreed;
      if (!view.up || !agreed) continue;
      if (!this.#latest || agreed.epoch > this.#latest.epoch) {
        // A first answer past the initial mode: the cluster decided before the watch could see it.
        const from = this.#latest?.mode ?? (agreed.index > 0 ? this.#initialMode : undefined);
        if (from !== undefined) {
          const decision: Decision = { seenAtMs: now, from, agreed };
          this.decisions.push(decision);
          this.#events.decided?.(decision);
        }
        this.#latest = agreed;
      }
    }
    const pending = this.decisions.at(-1);
    if (pending && pending.settledAtMs === undefined && pending.agreed.epoch === this.#latest?.epoch) {
      const up = [...this.views.values()].filter((view) => view.up);
      const serving = (view: NodeView) =>
        view.agreed?.epoch === pending.agreed.epoch && view.engine === engineFor(pending.agreed.mode) && view.healthy;
      if (up.length > 0 && up.every(serving)) {
        pending.settledAtMs = now;
        this.#events.settled?.(pending);
      }
    }
  }
}
