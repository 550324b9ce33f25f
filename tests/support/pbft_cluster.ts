/**
 * A cluster of pure PBFT state machines for tests: messages travel through
 * the wire codec over an in-memory network that a test can cut, filter or
 * reorder; each replica keeps its durable records as a list, so it can crash
 * and restart from them (losing the ones a driver would have held back for
 * its next sync); replies to outside clients are collected.
 *
 * @module
 */
import { seededRandom } from "../../core/util/random.ts";
import { decodeMessages, encodeMessages } from "../../plugins/consensus-pbft/codec.ts";
import { DEFAULT_PBFT_CONFIG, Pbft, type PbftConfig } from "../../plugins/consensus-pbft/pbft.ts";
import { DriverDisk } from "./pbft_disk.ts";
import type { Message, MessageBody, Reply, Request } from "../../plugins/consensus-pbft/types.ts";
import { FakeKeys, KvService } from "./pbft_fakes.ts";

/** One replica of the test cluster. */
export interface TestReplica {
  /** Its id. */
  id: string;
  /** Its state machine (replaced on restart). */
  machine: Pbft;
  /** Its service (replaced on restart). */
  service: KvService;
  /** Its disk: what it persisted, the records the driver would hold back lost in a crash. */
  disk: DriverDisk;
  /** False while crashed. */
  up: boolean;
}

/** A message on its way. */
export interface InFlight {
  /** Sender. */
  from: string;
  /** Receiver (a member or a client). */
  to: string;
  /** The encoded frame. */
  frame: Uint8Array;
}

/** Options of {@linkcode PbftTestCluster}. */
export interface PbftTestClusterOptions {
  /** Replicas (default 4). */
  size?: number;
  /** Config overrides for every replica. */
  config?: Partial<PbftConfig>;
  /** Seed of the delivery order (default: FIFO). */
  seed?: number;
}

/** The cluster. */
export class PbftTestCluster {
  /** Signers and verifier for everyone. */
  readonly keys = new FakeKeys();
  /** Replicas by id. */
  readonly replicas = new Map<string, TestReplica>();
  /** Messages not delivered yet. */
  inFlight: InFlight[] = [];
  /** Replies received by each outside client, with the replica that sent each. */
  readonly replies = new Map<string, { from: string; reply: Reply }[]>();
  /** Return true to drop a message. */
  drop: (message: InFlight) => boolean = () => false;
  readonly #members: string[];
  readonly #config: Partial<PbftConfig>;
  readonly #random: (() => number) | undefined;

  /** Starts `size` replicas named r0, r1, .... */
  constructor(options: PbftTestClusterOptions = {}) {
    const size = options.size ?? 4;
    this.#members = Array.from({ length: size }, (_, i) => `r${i}`);
    this.#config = options.config ?? {};
    if (options.seed !== undefined) {
      const random = seededRandom(options.seed);
      this.#random = () => random.next();
    }
    for (const id of this.#members) {
      const replica: TestReplica = {
        id,
        machine: undefined!,
        service: new KvService(),
        disk: new DriverDisk(),
        up: true,
      };
      this.replicas.set(id, replica);
      replica.machine = this.#create(replica);
      this.#collect(replica);
    }
  }

  /** Replica ids. */
  get members(): string[] {
    return this.#members;
  }

  /** A replica by id. */
  replica(id: string): TestReplica {
    return this.replicas.get(id)!;
  }

  /** The replica that is primary according to most replicas. */
  get primary(): TestReplica {
    const counts = new Map<string, number>();
    for (const replica of this.replicas.values()) {
      if (replica.up) counts.set(replica.machine.primary, (counts.get(replica.machine.primary) ?? 0) + 1);
    }
    const [id] = [...counts].sort((a, b) => b[1] - a[1])[0];
    return this.replica(id);
  }

  #create(replica: TestReplica): Pbft {
    return new Pbft({
      ...DEFAULT_PBFT_CONFIG,
      ...this.#config,
      id: replica.id,
      members: this.#members,
      signer: this.keys.signer(replica.id),
      verifier: this.keys,
      service: replica.service,
    }, replica.disk.records);
  }

  #collect(replica: TestReplica): void {
    if (!replica.machine.hasReady()) return;
    const ready = replica.machine.ready();
    replica.disk.write(ready);
    for (const { to, message } of ready.messages) {
      for (const receiver of to) {
        this.inFlight.push({ from: replica.id, to: receiver, frame: encodeMessages([message]) });
      }
    }
  }

  /** Hands `message` to a replica as if `from` sent it, then collects its output. */
  inject(to: string, from: string, message: MessageBody): void {
    const replica = this.replica(to);
    if (!replica.up) return;
    replica.machine.step({ ...message, from } as Message);
    this.#collect(replica);
  }

  /** An outside client sends a request to some replicas. */
  submit(request: Request, to: string[] = this.#members): void {
    for (const id of to) {
      this.inFlight.push({ from: request.client, to: id, frame: encodeMessages([{ type: "request", request }]) });
    }
  }

  /** Delivers messages (in FIFO or seeded order) until none are left or `maxMessages` were delivered. */
  deliver(maxMessages = 100_000): number {
    let delivered = 0;
    while (this.inFlight.length > 0 && delivered < maxMessages) {
      const index = this.#random ? Math.floor(this.#random() * this.inFlight.length) : 0;
      const [message] = this.inFlight.splice(index, 1);
      delivered++;
      if (this.drop(message)) continue;
      const replica = this.replicas.get(message.to);
      if (!replica) {
        for (const body of decodeMessages(message.frame)) {
          if (body.type !== "reply") continue;
          const received = this.replies.get(message.to) ?? [];
          received.push({ from: message.from, reply: body });
          this.replies.set(message.to, received);
        }
        continue;
      }
      if (!replica.up) continue;
      for (const body of decodeMessages(message.frame)) {
        replica.machine.step({ ...body, from: message.from } as Message);
      }
      this.#collect(replica);
    }
    return delivered;
  }

  /** Ticks every live replica `count` times, delivering messages after each tick. */
  tick(count = 1): void {
    for (let i = 0; i < count; i++) {
      for (const replica of this.replicas.values()) {
        if (!replica.up) continue;
        replica.machine.tick();
        this.#collect(replica);
      }
      this.deliver();
    }
  }

  /** Ticks until `done` or `maxTicks`; returns whether it became true. */
  tickUntil(done: () => boolean, maxTicks = 5_000): boolean {
    for (let i = 0; i < maxTicks && !done(); i++) this.tick();
    return done();
  }

  /** Stops a replica; what it did not persist, or persisted without a sync, is lost. */
  crash(id: string): void {
    const replica = this.replica(id);
    replica.up = false;
    replica.disk.crash();
  }

  /** Restarts a replica from its records, with a fresh service. */
  restart(id: string): void {
    const replica = this.replica(id);
    replica.service = new KvService();
    replica.machine = this.#create(replica);
    replica.up = true;
    this.#collect(replica);
  }

  /**
   * The results `client` may accept for `sequence`: those that `needed`
   * distinct replicas sent identically (f + 1 for ordered requests, a quorum
   * for read-only ones), or undefined.
   */
  accepted(client: string, sequence: number, needed: number): string[] | undefined {
    const votes = new Map<string, Set<string>>();
    for (const { from, reply } of this.replies.get(client) ?? []) {
      if (reply.sequence !== sequence) continue;
      const key = JSON.stringify(reply.results.map((result) => new TextDecoder().decode(result)));
      const voters = votes.get(key) ?? new Set();
      voters.add(from);
      votes.set(key, voters);
      if (voters.size >= needed) return JSON.parse(key);
    }
    return undefined;
  }
}
