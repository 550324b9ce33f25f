/**
 * Seeded schedules of the real Raft driver (`RaftConsensus`: codec, peer
 * connections, storage, state machine) on the memory transport under one
 * `ManualClock`: links with seeded delay, jitter and loss that change during
 * the run, nodes whose ticks run at different rates, and nodes that crash
 * (closed, keeping only their storage) and restart, under client load of
 * get, put, compare-and-swap and append.
 *
 * Storage takes a random time to sync, and a crash loses what was not synced
 * yet. Crashes are aimed at that window: when a node starts syncing a vote
 * (a changed hard state) or entries, some schedules crash it, or the whole
 * cluster, before the sync completes, and restart it at once. A driver that
 * sent the vote or the acknowledgement before the sync would then have
 * promised something its disk does not hold.
 *
 * Checked: election safety (stats are read after every timer), state
 * machine safety (what every replica applies at each index), a linearizable
 * history, and liveness once the faults stop. Slower per schedule than the
 * pure simulator (every timer and delivery is a turn of the event loop), so
 * fewer seeds run; partitions, drops and duplicates are the pure simulator's
 * job, since the memory transport is an ordered, reliable stream.
 *
 * @module
 */
import { ManualClock, sleep } from "../../core/util/clock.ts";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { silentLogger } from "../../core/util/logger.ts";
import { type Random, seededRandom } from "../../core/util/random.ts";
import { MemoryStorage, RaftConsensus } from "../../plugins/consensus-raft/mod.ts";
import type { RaftStorage, StorageUpdate } from "../../plugins/consensus-raft/storage.ts";
import { peerCryptoIdle, SettlingClock, stepUntilSettled } from "../../testing/advance.ts";
import { testPeerKeys } from "../support/raft_cluster.ts";
import { severable } from "../support/severable_transport.ts";
import type { Snapshot } from "../../plugins/consensus-raft/types.ts";
import type { RaftDurableState } from "../../plugins/consensus-raft/raft.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { checkLinearizable, type KvOperation, settleUnknownWrites } from "../../testing/linearizability.ts";
import type { RaftSimResult } from "./raft_sim.ts";
import { clientState } from "./sim_clients.ts";
import { encodeSimKvCommand, SimKvMachine } from "./sim_kv.ts";
import { commandOf } from "./sim_node.ts";

interface Replica {
  id: string;
  disk: Disk;
  /** The running process's handle on the disk. */
  storage: SlowStorage | undefined;
  tickMs: number;
  transport?: ReturnType<typeof severable>;
  machine: SimKvMachine;
  node: RaftConsensus<string | null> | undefined;
  /** Counts starts; a crashed incarnation's late effects are ignored. */
  incarnation: number;
  /** The crashed incarnation's close, which must end before a restart. */
  closing: Promise<void> | undefined;
  /** When to start it again (set by a crash). */
  restartAtMs: number | undefined;
  /** Started and not crashed since (a node still starting is not crashed: its start would outlive the crash). */
  up: boolean;
}

const RUN_MS = 3000;
const KEYS = ["x", "y"];
/** After the faults, with every node restarted, a put must commit within this long. */
const LIVENESS_DEADLINE_MS = 2000;
/**
 * A schedule sets some 15,000 timers and takes well under a second; far more timers, or 30 s of real time,
 * means a loop that never settles, which fails the schedule instead of hanging the test run.
 */
const MAX_TIMERS = 200_000;
/** Readies one node handles at one instant of manual time, at most, before its loop counts as spinning. */
const MAX_READIES_PER_INSTANT = 10_000;
const MAX_REAL_MS = 30_000;

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
  // Crashed processes still finishing their close count too: a restart waits for that close.
  const dying = new Set<RaftConsensus<string | null>>();
  // After every step of manual time: let the cryptography finish, then look at who leads (election safety).
  const clock = new BoundedClock(MAX_TIMERS, async () => {
    await peerCryptoIdle(() => [...replicas.map((replica) => replica.node), ...dying]);
    pollLeaders();
  });
  const network = new MemoryNetwork({ clock, seed, defaultLink: { delayMs: 1, jitterMs: 0.5 } });
  const ids = ["n1", "n2", "n3"];
  const peers = Object.fromEntries(ids.map((id) => [id, `raft-${id}`]));
  const violations: string[] = [];
  const counts = { completed: 0, unknown: 0, crashes: 0, syncCrashes: 0, clusterCrashes: 0, authenticated: 0 };
  // Some schedules sync slowly (a busy disk), which widens the window between a write and its sync.
  const maxSyncMs = random.next() < 0.3 ? 3 : random.between(4, 12);
  // Some schedules crash nodes while they sync a vote or entries, the moment a promise could outrun the disk.
  const voteSyncCrashRatio = random.next() < 0.3 ? 0 : random.between(0.2, 0.6);
  const entrySyncCrashRatio = random.next() < 0.3 ? 0 : random.between(0.01, 0.08);
  const skewed = random.next() < 0.5;
  const authenticated = seed % 10 === 0; // every tenth seed (see peerAuth below)
  let faulting = true;
  if (authenticated) counts.authenticated = 1;

  const replicas: Replica[] = ids.map((id) => ({
    id,
    disk: { storage: new MemoryStorage(), vote: null },
    storage: undefined,
    tickMs: skewed ? 10 * random.between(0.75, 1.33) : 10,
    machine: new SimKvMachine(),
    node: undefined,
    incarnation: 0,
    closing: undefined,
    restartAtMs: undefined,
    up: false,
  }));

  // State machine safety: every replica applies the same command at each index.
  const appliedAt = new Map<number, string>();
  const firstAppliedMs = new Map<string, number>();
  // Election safety: one leader per term, over the whole run.
  const leaderOf = new Map<number, string>();
  const pollLeaders = () => {
    for (const replica of replicas) {
      const stats = replica.node?.stats();
      if (!stats || stats.role !== "leader") continue;
      const earlier = leaderOf.get(stats.term);
      if (earlier !== undefined && earlier !== replica.id) {
        violations.push(`election safety: ${earlier} and ${replica.id} both lead term ${stats.term}`);
      }
      leaderOf.set(stats.term, replica.id);
    }
  };

  /** Crashes at once: unsynced writes are lost and nothing more leaves; it closes in the background. */
  const crash = (replica: Replica, downMs: number) => {
    const node = replica.node;
    if (!node || !replica.up) return;
    pollLeaders(); // what it was just before
    replica.up = false;
    counts.crashes++;
    replica.node = undefined;
    replica.storage!.crash();
    replica.transport!.severAll();
    dying.add(node);
    replica.closing = node.close().catch(() => {}).finally(() => dying.delete(node));
    replica.restartAtMs = clock.now() + downMs;
  };
  const start = async (replica: Replica) => {
    await replica.closing;
    replica.closing = undefined;
    replica.restartAtMs = undefined;
    const incarnation = ++replica.incarnation;
    // A Ready loop that spins without progress (an engine whose hasReady() stays true) never yields to the
    // event loop, so manual time stands still: thousands of Readies at one instant mean a spin. Throwing here
    // stops the driver's loop with a logged error (a violation) instead of hanging the test run.
    let readiesAtMs = -1;
    let readies = 0;
    const spinWatch = () => {
      if (clock.now() !== readiesAtMs) [readiesAtMs, readies] = [clock.now(), 0];
      if (++readies > MAX_READIES_PER_INSTANT) {
        throw new Error(`${readies} Readies at ${clock.now()} ms without time passing: the loop does not settle`);
      }
      return 20;
    };
    replica.machine = new SimKvMachine((command, index) => {
      if (replica.incarnation !== incarnation || !replica.node || index === undefined) return; // a dead process
      const identity = JSON.stringify(command);
      const earlier = appliedAt.get(index);
      if (earlier === undefined) appliedAt.set(index, identity);
      else if (earlier !== identity) {
        violations.push(`state machine safety: ${replica.id} applied a different entry at index ${index}`);
      }
      if (!firstAppliedMs.has(command.value)) firstAppliedMs.set(command.value, clock.now());
    });
    const storage = replica.storage = new SlowStorage(replica.disk, clock, () => random.between(0, maxSyncMs));
    storage.onSave = (update, syncMs) => crashWhileSyncing(replica, update, syncMs);
    replica.node = new RaftConsensus({
      id: replica.id,
      peers,
      transport: replica.transport = severable(network.transport(peers[replica.id])),
      // The nodes share one clock, so no skew needs allowing: a restarted node is deaf for 5 ms, not 250.
      // Authenticated in every tenth schedule only: its cryptography runs off the event loop and costs six times
      // the rest of a schedule. Those keep the default clock skew, so a restarted node is deaf for 250 ms.
      peerAuth: authenticated ? { keys: testPeerKeys } : "none",
      storage,
      stateMachine: replica.machine,
      clock,
      tickMs: replica.tickMs,
      timeoutMs: 300,
      // Read once per Ready the driver handles; a watchdog on it stops a loop that spins without progress.
      get snapshotEveryEntries() {
        return spinWatch();
      },
      raft: { random: () => random.next() },
      // An error the driver logs (its loop stopped, apply threw) is a failure of the run, not a quiet stall.
      logger: {
        ...silentLogger,
        error: (message, fields) => violations.push(`${replica.id}: ${message} ${JSON.stringify(fields ?? {})}`),
      },
    });
    await replica.node.start();
    replica.up = true;
  };
  /** When a node starts syncing a vote or entries, some schedules crash it, or everyone, before the sync ends. */
  const crashWhileSyncing = (replica: Replica, update: StorageUpdate, syncMs: number) => {
    if (!faulting || !replica.up) return;
    const vote = update.hardState?.vote ?? null;
    const voting = vote !== null && vote !== replica.disk.vote;
    const ratio = voting ? voteSyncCrashRatio : update.entries.length > 0 ? entrySyncCrashRatio : 0;
    if (ratio === 0 || random.next() >= ratio) return;
    const everyone = random.next() < (voting ? 0.7 : 0.5);
    const downMs = random.between(1, 30);
    clock.setTimeout(() => {
      if (!faulting) return; // the faults ended meanwhile
      counts.syncCrashes++;
      if (everyone) counts.clusterCrashes++;
      for (const victim of everyone ? replicas : [replica]) crash(victim, downMs);
    }, random.between(syncMs / 2, syncMs)); // late in the window: what left early has had time to arrive
  };
  for (const replica of replicas) {
    await whileAdvancing(clock, start(replica));
  }

  const history: KvOperation[] = [];
  let running = true;
  /** One operation, retried at the leader while `keepTrying()`; true when it was answered. */
  const operate = async (
    clientId: string,
    kind: KvOperation["kind"],
    key: string,
    state: ReturnType<typeof clientState>,
    target: { leader: Replica },
    keepTrying: () => boolean,
  ): Promise<boolean> => {
    const value = kind === "get" ? null : `${clientId}.${++state.sequence};`;
    const op: KvOperation = { clientId, kind, key, value, callMs: clock.now(), returnMs: Infinity };
    if (kind === "cas") op.expected = state.seen.get(key) ?? null;
    while (keepTrying()) {
      const replica = target.leader;
      const { node, machine, incarnation } = replica;
      try {
        if (!node) throw new ConsensusError("NOT_LEADER", "down");
        let result: string | null;
        if (kind === "get") {
          await node.read();
          result = machine.get(key);
        } else result = (await node.propose(encodeSimKvCommand(commandOf(op)))).result;
        // An answer from a process that crashed meanwhile never reached the client.
        if (replica.incarnation !== incarnation || !replica.node) {
          throw new ConsensusError("CONSENSUS_CLOSED", "crashed");
        }
        op.returnMs = clock.now();
        if (kind === "get") op.value = result;
        if (kind === "cas") op.swapped = result === op.expected;
        state.seen.set(key, valueAfter(op, result));
        history.push(op);
        counts.completed++;
        return true;
      } catch (error) {
        const code = error instanceof ConsensusError ? error.code : "OTHER";
        const definite = code === "NOT_LEADER" || code === "PROPOSAL_DROPPED" ||
          (code === "CONSENSUS_CLOSED" && !node);
        if (!definite) {
          state.seen.delete(key);
          if (kind !== "get") {
            counts.unknown++;
            history.push(op); // may have taken effect: it never returns
          }
          return false;
        }
        const hint = error instanceof ConsensusError ? error.leaderHint : null;
        target.leader = replicas.find((candidate) => candidate.id === hint) ??
          replicas[Math.floor(random.next() * replicas.length)];
        await sleep(clock, 5);
      }
    }
    return false;
  };
  const client = async (clientId: string) => {
    const target = { leader: replicas[0] };
    const state = clientState();
    for (let sequence = 0; running; sequence++) {
      await sleep(clock, random.between(1, 20)); // think time
      await operate(clientId, pickKind(random), KEYS[sequence % KEYS.length], state, target, () => running);
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
      crash(victim, random.between(50, 1000));
    }
    for (const replica of replicas) {
      if (!replica.node && replica.restartAtMs !== undefined && clock.now() >= replica.restartAtMs) {
        await whileAdvancing(clock, start(replica));
      }
    }
    await clock.advance(10);
  }
  faulting = false;
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
      const state = clientState();
      while (clock.now() < deadlineMs) {
        if (await operate("liveness", "append", "x", state, target, () => clock.now() < deadlineMs)) return true;
      }
      return false;
    })(),
  );
  for (const replica of replicas) if (replica.node) await whileAdvancing(clock, replica.node.close());
  if (!live) {
    const states = replicas.map((replica) => {
      const stats = replica.node?.stats();
      if (!stats) return `${replica.id}: down`;
      const refused = Object.entries(stats.peerRejections).filter(([, count]) => count > 0);
      return `${replica.id}: ${stats.role} of term ${stats.term}, commit ${stats.commitIndex}, refused ${
        JSON.stringify(Object.fromEntries(refused))
      }`;
    });
    violations.push(
      `liveness: no put committed within ${LIVENESS_DEADLINE_MS} ms after every node was back (${states.join("; ")})`,
    );
  }
  const settled = settleUnknownWrites(history, (op) => firstAppliedMs.get(op.value!));
  return { seed, violations, linearizability: checkLinearizable(settled), counts };
}

/** What the key holds after `op` answered with `result` (a get's value, a write's previous value). */
function valueAfter(op: KvOperation, result: string | null): string | null {
  if (op.kind === "get" || op.swapped === false) return result;
  return op.kind === "append" ? (result ?? "") + op.value : op.value;
}

/** The client mix: reads, blind writes, compare-and-swaps and appends. */
function pickKind(random: Random): KvOperation["kind"] {
  const roll = random.next();
  return roll < 0.4 ? "get" : roll < 0.55 ? "put" : roll < 0.75 ? "cas" : "append";
}

/**
 * A settling clock that moves from timer to timer, waiting for the nodes' cryptography after each, so work
 * that runs off the event loop finishes at the manual time it started whatever the machine's speed (the
 * schedule of a seed replays); and that refuses timers past a budget, so a loop that never settles fails.
 */
export class BoundedClock extends SettlingClock {
  #left: number;
  readonly #startedMs = performance.now();

  /** Refuses timers after `maxTimers` of them (or 30 s of real time); waits for `settle` after each. */
  constructor(maxTimers: number, settle: () => Promise<void>) {
    super(settle);
    this.#left = maxTimers;
  }

  override async advance(ms: number): Promise<void> {
    const targetMs = this.now() + ms;
    for (let next = this.nextDueMs(); next !== undefined && next <= targetMs; next = this.nextDueMs()) {
      await super.advance(Math.max(0, next - this.now()));
    }
    await super.advance(Math.max(0, targetMs - this.now()));
  }

  override setTimeout(callback: () => void, delayMs: number): number {
    if (this.#left-- <= 0) throw new Error(`more timers than the budget: the schedule does not settle`);
    if (performance.now() - this.#startedMs > MAX_REAL_MS) {
      throw new Error(`still running after ${MAX_REAL_MS / 1000} s of real time: the schedule does not settle`);
    }
    return super.setTimeout(callback, delayMs);
  }
}

/** Graceful closes over delayed links need time to pass: advance the clock until `promise` settles. */
export function whileAdvancing<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  return stepUntilSettled(() => clock.advance(1), promise, 10_000, "did not settle within 10 s of manual time");
}

/**
 * One process's handle on a node's disk (a `MemoryStorage` that outlives
 * processes): syncs take time, and after `crash` this handle writes nothing
 * more, neither the syncs under way nor any its dead process still starts.
 */
export class SlowStorage implements RaftStorage {
  /** Told of every save as it starts, with how long its sync will take (faults aim at that window). */
  onSave: ((update: StorageUpdate, syncMs: number) => void) | undefined;
  readonly #disk: Disk;
  readonly #clock: ManualClock;
  readonly #delayMs: () => number;
  #crashed = false;

  /** A handle on `disk` whose syncs take `delayMs()` of `clock`'s time each. */
  constructor(disk: Disk, clock: ManualClock, delayMs: () => number) {
    this.#disk = disk;
    this.#clock = clock;
    this.#delayMs = delayMs;
  }

  /** Loses every write not synced yet, and every later one. */
  crash(): void {
    this.#crashed = true;
  }

  load(): Promise<RaftDurableState | null> {
    return this.#disk.storage.load();
  }

  async save(update: StorageUpdate): Promise<void> {
    const syncMs = this.#delayMs();
    this.onSave?.(update, syncMs);
    await sleep(this.#clock, syncMs);
    if (this.#crashed) return;
    await this.#disk.storage.save(update);
    if (update.hardState) this.#disk.vote = update.hardState.vote;
  }

  async compact(snapshot: Snapshot): Promise<void> {
    await sleep(this.#clock, this.#delayMs());
    if (!this.#crashed) await this.#disk.storage.compact(snapshot);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** What survives a node's crashes: its storage, and the vote synced in it. */
export interface Disk {
  storage: MemoryStorage;
  vote: string | null;
}
