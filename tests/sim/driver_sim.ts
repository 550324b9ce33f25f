/**
 * Seeded schedules of the real Raft driver (`RaftConsensus`: codec, peer
 * connections, storage, state machine) on the memory transport under one
 * `ManualClock`: links with seeded delay, jitter and loss that change during
 * the run, and nodes that crash (closed, keeping only their storage) and
 * restart, under client load. The client history must be linearizable.
 *
 * Storage takes a random time to sync, and a crash loses what was not
 * synced yet, so the driver's ordering of sends around syncs is tested.
 *
 * Slower per schedule than the pure simulator (every timer and delivery is
 * a turn of the event loop), so fewer seeds run; partitions, drops and
 * duplicates are the pure simulator's job, since the memory transport is an
 * ordered, reliable stream.
 *
 * @module
 */
import { ManualClock, sleep } from "../../core/clock.ts";
import { ConsensusError } from "../../core/consensus.ts";
import { seededRandom } from "../../core/random.ts";
import { encodeKvCommand, KvStateMachine } from "../../examples/kv/state_machine.ts";
import { MemoryStorage, RaftConsensus } from "../../plugins/consensus-raft/mod.ts";
import type { RaftStorage, StorageUpdate } from "../../plugins/consensus-raft/storage.ts";
import { peerCryptoIdle, SettlingClock, stepUntilSettled } from "../support/advance.ts";
import { testPeerKeys } from "../support/raft_cluster.ts";
import { severable } from "../support/severable_transport.ts";
import type { Snapshot } from "../../plugins/consensus-raft/types.ts";
import type { RaftDurableState } from "../../plugins/consensus-raft/raft.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { checkLinearizable, type KvOperation } from "./linearizability.ts";
import type { RaftSimResult } from "./raft_sim.ts";

interface Replica {
  id: string;
  storage: SlowStorage;
  transport?: ReturnType<typeof severable>;
  machine: KvStateMachine;
  node: RaftConsensus<string | null> | undefined;
}

const RUN_MS = 3000;
const KEYS = ["x", "y"];
/** After the faults, with every node restarted, a put must commit within this long. */
const LIVENESS_DEADLINE_MS = 2000;

/**
 * Runs the driver schedule of `seed`.
 *
 * @example
 * ```ts ignore
 * const result = await simulateRaftDriver(3);
 * result.linearizability.ok && result.violations.length === 0; // true
 * ```
 */
export async function simulateRaftDriver(seed: number): Promise<RaftSimResult> {
  const random = seededRandom(seed);
  // Every advance also waits for the nodes' peer cryptography (WebCrypto works off the event loop).
  const clock: ManualClock = new SettlingClock(() => peerCryptoIdle(() => replicas.map((replica) => replica.node)));
  const network = new MemoryNetwork({ clock, seed, defaultLink: { delayMs: 1, jitterMs: 0.5 } });
  const ids = ["n1", "n2", "n3"];
  const peers = Object.fromEntries(ids.map((id) => [id, `raft-${id}`]));
  const replicas: Replica[] = ids.map((id) => ({
    id,
    storage: new SlowStorage(clock, () => random.between(0, 3)),
    machine: new KvStateMachine(),
    node: undefined,
  }));
  const start = async (replica: Replica) => {
    replica.machine = new KvStateMachine();
    replica.node = new RaftConsensus({
      id: replica.id,
      peers,
      transport: replica.transport = severable(network.transport(peers[replica.id])),
      peerAuth: { keys: testPeerKeys },
      storage: replica.storage,
      stateMachine: replica.machine,
      clock,
      timeoutMs: 300,
      snapshotEveryEntries: 20,
      raft: { random: () => random.next() },
    });
    await replica.node.start();
  };
  for (const replica of replicas) await whileAdvancing(clock, start(replica));

  const history: KvOperation[] = [];
  const counts = { completed: 0, unknown: 0, crashes: 0 };
  let running = true;
  /** One operation, retried at the leader while `keepTrying()`; true when it was answered. */
  const operate = async (
    clientId: string,
    kind: "put" | "get",
    key: string,
    value: string | null,
    target: { leader: Replica },
    keepTrying: () => boolean,
  ): Promise<boolean> => {
    const op: KvOperation = { clientId, kind, key, value, callMs: clock.now(), returnMs: Infinity };
    while (keepTrying()) {
      const node = target.leader.node;
      try {
        if (!node) throw new ConsensusError("NOT_LEADER", "down");
        if (kind === "put") await node.propose(encodeKvCommand({ op: "put", key, value: value! }));
        else {
          await node.read();
          op.value = target.leader.machine.get(key);
        }
        op.returnMs = clock.now();
        history.push(op);
        counts.completed++;
        return true;
      } catch (error) {
        const code = error instanceof ConsensusError ? error.code : "OTHER";
        const definite = code === "NOT_LEADER" || code === "PROPOSAL_DROPPED" ||
          (code === "CONSENSUS_CLOSED" && !node);
        if (!definite && kind === "put") {
          counts.unknown++;
          history.push(op);
          return false;
        }
        if (!definite) return false; // a read with no answer has no effect
        const hint = error instanceof ConsensusError ? error.leaderHint : null;
        target.leader = replicas.find((replica) => replica.id === hint) ??
          replicas[Math.floor(random.next() * replicas.length)];
        await sleep(clock, 5);
      }
    }
    return false;
  };
  const client = async (clientId: string) => {
    const target = { leader: replicas[0] };
    for (let sequence = 0; running; sequence++) {
      await sleep(clock, random.between(1, 20)); // think time
      const kind = random.next() < 0.6 ? "put" : "get";
      const value = kind === "put" ? `${clientId}:${sequence}` : null;
      await operate(clientId, kind, KEYS[sequence % KEYS.length], value, target, () => running);
    }
  };
  const clients = ["a", "b", "c"].map(client);

  for (let elapsed = 0; elapsed < RUN_MS; elapsed += 10) {
    const roll = random.next();
    if (roll < 0.01) {
      const [a, b] = [ids[Math.floor(random.next() * 3)], ids[Math.floor(random.next() * 3)]];
      network.setLink(`raft-${a}`, `raft-${b}`, {
        delayMs: random.between(0, 8),
        jitterMs: random.between(0, 4),
        lossRatio: random.between(0, 0.2),
      });
    } else if (roll < 0.015) {
      const victim = replicas[Math.floor(random.next() * replicas.length)];
      if (victim.node) {
        counts.crashes++;
        const node = victim.node;
        victim.node = undefined;
        victim.storage.crash(); // writes not synced yet are lost,
        victim.transport!.severAll(); // and nothing more leaves the process
        await whileAdvancing(clock, node.close());
      }
    } else if (roll < 0.03) {
      const down = replicas.find((replica) => !replica.node);
      if (down) await whileAdvancing(clock, start(down));
    }
    await clock.advance(10);
  }
  running = false;
  for (const replica of replicas) if (!replica.node) await whileAdvancing(clock, start(replica));
  for (let i = 0; i < 100; i++) await clock.advance(10);
  await whileAdvancing(clock, Promise.all(clients));
  // With every node back and the links as they are, a put must commit again.
  const deadlineMs = clock.now() + LIVENESS_DEADLINE_MS;
  const live = await whileAdvancing(
    clock,
    (async () => {
      const target = { leader: replicas[0] };
      for (let attempt = 0; clock.now() < deadlineMs; attempt++) {
        if (await operate("liveness", "put", "x", `liveness:${attempt}`, target, () => clock.now() < deadlineMs)) {
          return true;
        }
      }
      return false;
    })(),
  );
  for (const replica of replicas) if (replica.node) await whileAdvancing(clock, replica.node.close());
  const violations = live
    ? []
    : [`liveness: no put committed within ${LIVENESS_DEADLINE_MS} ms after every node was back`];
  return { seed, violations, linearizability: checkLinearizable(history), counts };
}

/** Graceful closes over delayed links need time to pass: advance the clock until `promise` settles. */
function whileAdvancing<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  return stepUntilSettled(() => clock.advance(1), promise, 10_000, "did not settle within 10 s of manual time");
}

/** Memory storage whose syncs take time; `crash` loses the syncs still under way. */
class SlowStorage implements RaftStorage {
  readonly #inner = new MemoryStorage();
  readonly #clock: ManualClock;
  readonly #delayMs: () => number;
  #epoch = 0;

  constructor(clock: ManualClock, delayMs: () => number) {
    this.#clock = clock;
    this.#delayMs = delayMs;
  }

  /** Loses every write not synced yet. */
  crash(): void {
    this.#epoch++;
  }

  load(): Promise<RaftDurableState | null> {
    return this.#inner.load();
  }

  async save(update: StorageUpdate): Promise<void> {
    const epoch = this.#epoch;
    await sleep(this.#clock, this.#delayMs());
    if (epoch === this.#epoch) await this.#inner.save(update);
  }

  async compact(snapshot: Snapshot): Promise<void> {
    const epoch = this.#epoch;
    await sleep(this.#clock, this.#delayMs());
    if (epoch === this.#epoch) await this.#inner.compact(snapshot);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
