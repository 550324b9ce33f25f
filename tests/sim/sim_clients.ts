/**
 * Simulated clients of the replicated key-value store. Each runs one
 * operation at a time, retries definite failures (the request was not
 * taken) at the leader it was told about, and gives up on an operation after
 * a deadline, recording a put whose outcome is unknown as never returning.
 *
 * @module
 */
import type { Random } from "../../core/random.ts";
import type { EventQueue } from "./event_queue.ts";
import type { KvOperation } from "./linearizability.ts";
import type { Reply, SimNode } from "./sim_node.ts";

/** Client behaviour. */
export interface ClientOptions {
  /** How many clients. */
  clients: number;
  /** Keys they use (few, so operations collide). */
  keys: string[];
  /** Share of puts; the rest are gets. */
  putRatio: number;
  /** Give up on an operation after this long. */
  operationTimeoutMs: number;
  /** One-way delay between a client and a node. */
  clientDelayMs: number;
}

/** Counters of the client load. */
export interface ClientCounts {
  /** Operations that got an answer. */
  completed: number;
  /** Operations abandoned at their deadline. */
  timedOut: number;
  /** Retries after a definite failure. */
  retries: number;
}

/** Drives the clients and records the history. */
export class SimClients {
  /** The completed and unknown-outcome operations, for the linearizability check. */
  readonly history: KvOperation[] = [];
  /** Counters. */
  readonly counts: ClientCounts = { completed: 0, timedOut: 0, retries: 0 };
  readonly #queue: EventQueue;
  readonly #random: Random;
  readonly #nodes: () => SimNode[];
  readonly #options: ClientOptions;
  #stopAtMs = 0;

  /** Creates the clients; `nodes` lists every node they may contact. */
  constructor(queue: EventQueue, random: Random, nodes: () => SimNode[], options: ClientOptions) {
    this.#queue = queue;
    this.#random = random;
    this.#nodes = nodes;
    this.#options = options;
  }

  /** Starts every client; none starts an operation after `stopAtMs`. */
  start(stopAtMs: number): void {
    this.#stopAtMs = stopAtMs;
    for (let i = 0; i < this.#options.clients; i++) {
      const clientId = `c${i + 1}`;
      this.#queue.after(this.#random.between(0, 20), () => this.#next(clientId, { leader: null, sequence: 0 }));
    }
  }

  /**
   * Runs one operation to completion; `done` gets true when it was answered
   * (used for the liveness check after the faults heal).
   */
  operate(
    clientId: string,
    state: { leader: string | null; sequence: number },
    kind: "put" | "get",
    key: string,
    done: (answered: boolean) => void,
    timeoutMs = this.#options.operationTimeoutMs,
  ): void {
    const value = kind === "put" ? `${clientId}:${++state.sequence}` : null;
    const record: KvOperation = { clientId, kind, key, value, callMs: this.#queue.nowMs, returnMs: Infinity };
    let finished = false;
    const finish = (answered: boolean) => {
      finished = true;
      if (answered) {
        record.returnMs = this.#queue.nowMs;
        this.counts.completed++;
      } else this.counts.timedOut++;
      if (answered || kind === "put") this.history.push(record);
      done(answered);
    };
    const attempt = () => {
      if (finished) return;
      const nodes = this.#nodes();
      const target = nodes.find((node) => node.id === state.leader) ??
        nodes[Math.floor(this.#random.next() * nodes.length)];
      this.#queue.after(this.#options.clientDelayMs, () => {
        target.request({ kind, key, value }, (reply: Reply) => {
          this.#queue.after(this.#options.clientDelayMs, () => {
            if (finished) return;
            if (reply.ok) {
              if (kind === "get") record.value = reply.value;
              return finish(true);
            }
            this.counts.retries++;
            state.leader = reply.leaderHint !== target.id ? reply.leaderHint : null;
            this.#queue.after(this.#random.between(2, 12), attempt);
          });
        });
      });
    };
    this.#queue.after(timeoutMs, () => {
      if (!finished) finish(false);
    });
    attempt();
  }

  #next(clientId: string, state: { leader: string | null; sequence: number }): void {
    if (this.#queue.nowMs >= this.#stopAtMs) return;
    const { keys, putRatio } = this.#options;
    const kind = this.#random.next() < putRatio ? "put" : "get";
    const key = keys[Math.floor(this.#random.next() * keys.length)];
    this.operate(clientId, state, kind, key, () => {
      this.#queue.after(this.#random.between(0, 10), () => this.#next(clientId, state));
    });
  }
}
