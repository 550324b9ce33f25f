/**
 * A synchronous cluster of pure Raft nodes for directed tests: messages are
 * delivered at once unless a filter drops them, every Ready is persisted and
 * applied in memory.
 *
 * @module
 */
import { seededRandom } from "../../core/util/random.ts";
import {
  DEFAULT_RAFT_CONFIG,
  initialState,
  Raft,
  type RaftConfig,
  type RaftDurableState,
} from "../../plugins/consensus-raft/raft.ts";
import { applyUpdate } from "../../plugins/consensus-raft/storage.ts";
import type { Entry, Message, ReadState } from "../../plugins/consensus-raft/types.ts";

/** One node of the harness. */
export interface HarnessNode {
  raft: Raft;
  durable: RaftDurableState;
  applied: Entry[];
  reads: ReadState[];
  dropped: number[];
}

/** A synchronous Raft cluster. */
export class RaftHarness {
  readonly nodes = new Map<string, HarnessNode>();
  /** Return true to drop a message. */
  drop: (message: Message) => boolean = () => false;
  readonly #config: Partial<RaftConfig>;
  #inFlight: Message[] = [];
  readonly #random = seededRandom(1);

  /** Creates voters `ids` (and non-voters `joiners`, which start with no membership). */
  constructor(ids: string[], config: Partial<RaftConfig> = {}, joiners: string[] = []) {
    this.#config = config;
    for (const id of ids) this.add(id, initialState(ids));
    for (const id of joiners) this.add(id, initialState([]));
  }

  /** Adds (or replaces) a node started from `durable`. */
  add(id: string, durable: RaftDurableState): HarnessNode {
    const raft = new Raft({ ...DEFAULT_RAFT_CONFIG, random: () => this.#random.next(), ...this.#config, id }, durable);
    const node: HarnessNode = { raft, durable, applied: [], reads: [], dropped: [] };
    this.nodes.set(id, node);
    return node;
  }

  /** Restarts a node from what it persisted. */
  restart(id: string): HarnessNode {
    const { durable } = this.node(id);
    return this.add(id, {
      hardState: { ...durable.hardState },
      snapshot: durable.snapshot,
      entries: [...durable.entries],
    });
  }

  /** The node `id`. */
  node(id: string): HarnessNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** The Raft of node `id`. */
  raft(id: string): Raft {
    return this.node(id).raft;
  }

  /** Handles the Readys of every node and delivers messages until the cluster is quiet. */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const node of this.nodes.values()) this.#process(node);
      if (this.#inFlight.length === 0) return;
      const batch = this.#inFlight;
      this.#inFlight = [];
      for (const message of batch) {
        if (this.drop(message)) continue;
        this.nodes.get(message.to)?.raft.step(message);
      }
    }
    throw new Error("the cluster did not settle");
  }

  /** Ticks `node` `count` times, settling after each. */
  tick(id: string, count = 1): void {
    for (let i = 0; i < count; i++) {
      this.raft(id).tick();
      this.settle();
    }
  }

  /** Ticks every node `count` times, settling after each round. */
  tickAll(count = 1): void {
    for (let i = 0; i < count; i++) {
      for (const node of this.nodes.values()) node.raft.tick();
      this.settle();
    }
  }

  /** Makes `id` campaign and settles (ticks it past the longest randomized timeout). */
  elect(id: string): void {
    const raft = this.raft(id);
    for (let i = 0; i < 100 && raft.role !== "leader"; i++) this.tick(id);
    if (raft.role !== "leader") throw new Error(`${id} did not become leader`);
  }

  #process(node: HarnessNode): void {
    const { raft } = node;
    while (raft.hasReady()) {
      const ready = raft.ready();
      applyUpdate(node.durable, ready);
      this.#inFlight.push(...ready.messages);
      if (ready.snapshot) node.applied = node.applied.filter((entry) => entry.index <= ready.snapshot!.index);
      node.applied.push(...ready.committed);
      node.reads.push(...ready.readStates);
      node.dropped.push(...ready.droppedReads);
      raft.advance(ready);
    }
  }
}

/** The command entries a node applied, as text. */
export function appliedCommands(node: HarnessNode): string[] {
  return node.applied.filter((entry) => entry.kind === "command").map((entry) => new TextDecoder().decode(entry.data));
}

/** Encodes text as a command. */
export function command(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}
