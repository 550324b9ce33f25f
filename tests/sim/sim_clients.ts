/**
 * Simulated clients of the replicated key-value store. Each runs one
 * operation at a time (get, put, compare-and-swap from the value it last
 * saw, or append of a unique suffix), retries definite failures (the request
 * was not taken) at the leader it was told about, and gives up on an
 * operation after a deadline, recording a write whose outcome is unknown as
 * never returning. After giving up it forgets the leader it used, as a real
 * client would, so it finds the current one instead of waiting on a stale one.
 *
 * @module
 */
import type { Random } from "../../core/util/random.ts";
import type { EventQueue } from "./event_queue.ts";
import type { KvOperation } from "../../testing/linearizability.ts";
import type { Reply, SimNode, SimRequest } from "./sim_node.ts";

/** Client behaviour. */
export interface ClientOptions {
  /** How many clients. */
  clients: number;
  /** Keys they use (few, so operations collide). */
  keys: string[];
  /** Shares of gets, puts, compare-and-swaps and appends (normalized). */
  mix: { get: number; put: number; cas: number; append: number };
  /** Give up on an operation after this long. */
  operationTimeoutMs: number;
  /** One-way delay between a client and a node. */
  clientDelayMs: number;
  /**
   * Whether a client at `home` can reach `node` now. Clients live next to their home node, so a partition
   * that cuts a leader off leaves its own clients talking to it alone. Requests that cannot get through are
   * lost (the client hears nothing and gives up at its deadline). Default: always.
   */
  reachable?: (home: string, node: string) => boolean;
}

/** Counters of the client load. */
export interface ClientCounts {
  /** Operations that got an answer. */
  completed: number;
  /** Operations abandoned at their deadline. */
  timedOut: number;
  /** Retries after a definite failure. */
  retries: number;
  /** Compare-and-swaps that swapped. */
  swapped: number;
}

/** What a client remembers between operations. */
export interface ClientState {
  /** The node it talks to when it knows no leader (clients spread over the nodes, as Jepsen binds them). */
  home: string | null;
  /** The node it believes leads. */
  leader: string | null;
  /** Its writes so far (makes every written value unique). */
  sequence: number;
  /** The value it last saw per key, which its next cas expects. */
  seen: Map<string, string | null>;
}

/** A fresh client state; `home` is the node it asks first. */
export function clientState(home: string | null = null): ClientState {
  return { home, leader: null, sequence: 0, seen: new Map() };
}

/** Drives the clients and records the history. */
export class SimClients {
  /** The completed and unknown-outcome operations, for the linearizability check. */
  readonly history: KvOperation[] = [];
  /** Counters. */
  readonly counts: ClientCounts = { completed: 0, timedOut: 0, retries: 0, swapped: 0 };
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
    const nodes = this.#nodes();
    for (let i = 0; i < this.#options.clients; i++) {
      const clientId = `c${i + 1}`;
      const home = nodes[i % nodes.length].id;
      this.#queue.after(this.#random.between(0, 20), () => this.#next(clientId, clientState(home)));
    }
  }

  /**
   * Runs one operation to completion; `done` gets true when it was answered
   * (used for the liveness check after the faults heal).
   */
  operate(
    clientId: string,
    state: ClientState,
    kind: KvOperation["kind"],
    key: string,
    done: (answered: boolean) => void,
    timeoutMs = this.#options.operationTimeoutMs,
  ): void {
    const request: SimRequest = { kind, key, value: kind === "get" ? null : `${clientId}.${++state.sequence};` };
    if (kind === "cas") request.expected = state.seen.get(key) ?? null;
    const record: KvOperation = { clientId, ...request, callMs: this.#queue.nowMs, returnMs: Infinity };
    let finished = false;
    const finish = (answered: boolean) => {
      finished = true;
      if (answered) {
        record.returnMs = this.#queue.nowMs;
        this.counts.completed++;
      } else {
        this.counts.timedOut++;
        state.leader = null;
        state.seen.delete(key);
      }
      if (answered || kind !== "get") this.history.push(record);
      done(answered);
    };
    let first = true;
    const attempt = () => {
      if (finished) return;
      const nodes = this.#nodes();
      const preferred = state.leader ?? (first ? state.home : null);
      first = false;
      const target = nodes.find((node) => node.id === preferred) ??
        nodes[Math.floor(this.#random.next() * nodes.length)];
      const { reachable } = this.#options;
      if (reachable && state.home !== null && !reachable(state.home, target.id)) {
        state.leader = null;
        return; // lost on the way: the deadline ends it
      }
      this.#queue.after(this.#options.clientDelayMs, () => {
        target.request(request, (reply: Reply) => {
          this.#queue.after(this.#options.clientDelayMs, () => {
            if (finished) return;
            if (reply.ok) {
              state.leader = target.id;
              this.#learn(state, record, reply.value);
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

  /** Records what an answer says (`value`: a get's value, a write's previous value) and what the key now holds. */
  #learn(state: ClientState, record: KvOperation, value: string | null): void {
    if (record.kind === "get") {
      record.value = value;
      state.seen.set(record.key, value);
    } else if (record.kind === "cas") {
      record.swapped = value === record.expected;
      if (record.swapped) this.counts.swapped++;
      state.seen.set(record.key, record.swapped ? record.value : value);
    } else if (record.kind === "append") {
      state.seen.set(record.key, (value ?? "") + record.value);
    } else {
      state.seen.set(record.key, record.value);
    }
  }

  #next(clientId: string, state: ClientState): void {
    if (this.#queue.nowMs >= this.#stopAtMs) return;
    const { keys, mix } = this.#options;
    let roll = this.#random.next() * (mix.get + mix.put + mix.cas + mix.append);
    const kind = (["get", "put", "cas", "append"] as const).find((kind) => (roll -= mix[kind]) < 0) ?? "append";
    const key = keys[Math.floor(this.#random.next() * keys.length)];
    this.operate(clientId, state, kind, key, () => {
      this.#queue.after(this.#random.between(0, 10), () => this.#next(clientId, state));
    });
  }
}
