/**
 * Seeded schedules of the real adaptive engine (`AdaptiveConsensus` over
 * real Raft and PBFT drivers, four replicas on the memory transport, one
 * `ManualClock`): the network alternates between a rack and a WAN, every
 * live replica reports what it measures, and the cluster switches Raft ⇄
 * PBFT on the agreed reports, with one forced switch (an operator's hold,
 * then its release) in the middle. Meanwhile links change delay and jitter,
 * replicas crash (closed, keeping their storage and handover) and restart,
 * and one replica is down across a switch in most schedules, so it joins
 * the newer epoch from its peers' handover. Clients run get, put,
 * compare-and-swap and append against any replica, with client identities,
 * following `NOT_LEADER` hints.
 *
 * Checked: a linearizable history (nothing acknowledged lost, nothing
 * applied twice), state machine safety across epochs (every replica applies
 * the same command at each index of the adaptive log, and none twice),
 * switch agreement (every replica that sealed an epoch sealed it at the same
 * index, into the same engine), and liveness once the faults stop.
 *
 * @module
 */
import { sleep } from "../../core/util/clock.ts";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import { silentLogger } from "../../core/util/logger.ts";
import { type Random, seededRandom } from "../../core/util/random.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";
import {
  AdaptiveConsensus,
  type EngineFactory,
  MemoryHandoverStore,
  type SwitchRecord,
} from "../../plugins/consensus-adaptive/mod.ts";
import {
  domainSigner,
  domainVerifier,
  MemoryPbftStorage,
  PbftConsensus,
  type ReplicaKeys,
  replicaKeys,
} from "../../plugins/consensus-pbft/mod.ts";
import { MemoryStorage, RaftConsensus } from "../../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { severable } from "../support/severable_transport.ts";
import { testIdentities, testReplicaSecret } from "../support/pbft_consensus_cluster.ts";
import { BoundedClock, whileAdvancing } from "./driver_sim.ts";
import { checkLinearizable, type KvOperation, settleUnknownWrites } from "../../testing/linearizability.ts";
import type { RaftSimResult } from "./raft_sim.ts";
import { clientState } from "./sim_clients.ts";
import { encodeSimKvCommand, SimKvMachine } from "./sim_kv.ts";
import { commandOf } from "./sim_node.ts";

const IDS = ["n1", "n2", "n3", "n4"];
const KEYS = ["x", "y"];
const RUN_MS = 2400;
const PHASE_MS = { min: 300, max: 500 };
const LIVENESS_DEADLINE_MS = 2000;
const MAX_TIMERS = 400_000;
const RACK: NetworkSample = { rttMs: 0.3, bandwidthMbps: 20_000, lossRatio: 0 };
const WAN: NetworkSample = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };

interface Replica {
  id: string;
  keys: ReplicaKeys;
  handovers: MemoryHandoverStore;
  transport?: ReturnType<typeof severable>;
  machine: SimKvMachine;
  node: AdaptiveConsensus<string | null> | undefined;
  incarnation: number;
  closing: Promise<void> | undefined;
  restartAtMs: number | undefined;
  /** Client calls waiting on it now: crashes aim at replicas with some, so outcomes become unknown. */
  inFlight: number;
}

/** Keys are derived once, before the clock matters: WebCrypto's derivations take real time. */
let setup: Promise<{ keys: ReplicaKeys[] }> | undefined;
function sharedSetup(): Promise<{ keys: ReplicaKeys[] }> {
  setup ??= (async () => {
    const identities = await testIdentities(IDS);
    const keys = await Promise.all(IDS.map((id) => replicaKeys(id, testReplicaSecret(id), identities)));
    for (const [i, own] of keys.entries()) {
      for (const peer of IDS) {
        if (peer === IDS[i]) continue;
        await own.channel.keyFor(IDS[i], peer);
        await own.channel.keyFor(peer, IDS[i]);
      }
    }
    return { keys };
  })();
  return setup;
}

/**
 * Runs the adaptive schedule of `seed`.
 *
 * @example
 * ```ts ignore
 * const result = await simulateAdaptive(3);
 * result.linearizability.ok && result.violations.length === 0; // true
 * ```
 */
export async function simulateAdaptive(seed: number): Promise<RaftSimResult> {
  const { keys } = await sharedSetup();
  const random = seededRandom(seed);
  const clock = new BoundedClock(MAX_TIMERS, () => Promise.resolve());
  const network = new MemoryNetwork({ clock, seed, defaultLink: { delayMs: 1, jitterMs: 0.5 } });
  const peers = Object.fromEntries(IDS.map((id) => [id, `adaptive-${id}`]));
  const violations: string[] = [];
  // unknown: writes never answered; uncertain: operations with an attempt whose outcome was unknown (retried under
  // their identity, so they execute once all the same).
  const counts = {
    completed: 0,
    unknown: 0,
    uncertain: 0,
    crashes: 0,
    switches: 0,
    fetched: 0,
    downAcrossSwitch: 0,
    forced: 0,
  };
  const raftDisks = new Map<string, MemoryStorage>();
  const pbftDisks = new Map<string, MemoryPbftStorage>();
  const disk = <T>(disks: Map<string, T>, key: string, make: () => T) => {
    if (!disks.has(key)) disks.set(key, make());
    return disks.get(key)!;
  };
  let networkPhase: "rack" | "wan" = "rack";

  // State machine safety across epochs: one command per index of the adaptive log, on every replica.
  const appliedAt = new Map<number, string>();
  const firstAppliedMs = new Map<string, number>();
  // Switch agreement: each epoch sealed at one index into one engine.
  const seals = new Map<number, { index: number; to: string; by: string }>();
  const noteSwitches = (replica: Replica) => {
    for (const record of replica.node?.adaptiveStats().switches ?? []) noteSwitch(replica.id, record);
  };
  const noteSwitch = (id: string, record: SwitchRecord) => {
    if (record.how !== "sealed") return;
    const seen = seals.get(record.fromEpoch);
    const mine = { index: record.agreed.index, to: record.to, by: id };
    if (!seen) seals.set(record.fromEpoch, mine);
    else if (seen.index !== mine.index || seen.to !== mine.to) {
      violations.push(
        `switch agreement: epoch ${record.fromEpoch} sealed at ${seen.index} into ${seen.to} on ${seen.by}, ` +
          `at ${mine.index} into ${mine.to} on ${id}`,
      );
    }
  };

  const replicas: Replica[] = IDS.map((id, i) => ({
    id,
    keys: keys[i],
    handovers: new MemoryHandoverStore(),
    machine: new SimKvMachine(),
    node: undefined,
    incarnation: 0,
    closing: undefined,
    restartAtMs: undefined,
    inFlight: 0,
  }));
  const up = () => replicas.filter((replica) => replica.node);

  const crash = (replica: Replica, downMs: number) => {
    const node = replica.node;
    if (!node || up().length < IDS.length) return; // one replica down at a time: f = 1
    noteSwitches(replica);
    counts.crashes++;
    replica.node = undefined;
    replica.transport!.severAll();
    replica.closing = node.close().catch(() => {});
    replica.restartAtMs = clock.now() + downMs;
  };

  const start = async (replica: Replica) => {
    await replica.closing;
    replica.closing = undefined;
    replica.restartAtMs = undefined;
    const incarnation = ++replica.incarnation;
    const seenHere = new Set<string>();
    replica.machine = new SimKvMachine((command, index) => {
      if (replica.incarnation !== incarnation || index === undefined) return;
      const identity = JSON.stringify(command);
      if (seenHere.has(command.value)) violations.push(`exactly once: ${replica.id} applied ${identity} twice`);
      seenHere.add(command.value);
      const earlier = appliedAt.get(index);
      if (earlier === undefined) appliedAt.set(index, identity);
      else if (earlier !== identity) {
        violations.push(`state machine safety: ${replica.id} applied ${identity} at ${index}, another ${earlier}`);
      }
      if (!firstAppliedMs.has(command.value)) firstAppliedMs.set(command.value, clock.now());
    });
    const logger = {
      ...silentLogger,
      error: (message: string, fields?: unknown) =>
        violations.push(`${replica.id}: ${message} ${JSON.stringify(fields ?? {})}`),
    };
    const raft: EngineFactory = (context) =>
      new RaftConsensus({
        id: replica.id,
        peers,
        transport: context.transport,
        peerAuth: { keys: context.keys, startedAtMs: context.startedAtMs, maxClockSkewMs: 0 },
        firstLeader: context.firstLeader,
        storage: disk(raftDisks, `${replica.id}/${context.epoch}`, () => new MemoryStorage()),
        stateMachine: context.stateMachine,
        clock,
        tickMs: 10,
        timeoutMs: 300,
        raft: { random: () => random.next() },
        logger,
      });
    const pbft: EngineFactory = (context) =>
      new PbftConsensus({
        id: replica.id,
        peers,
        transport: context.transport,
        storage: disk(pbftDisks, `${replica.id}/${context.epoch}`, () => new MemoryPbftStorage()),
        stateMachine: context.stateMachine,
        clock,
        signer: domainSigner(replica.keys.signer, `switchyard epoch ${context.epoch}`),
        verifier: domainVerifier(replica.keys.verifier, `switchyard epoch ${context.epoch}`),
        channelKeys: context.keys,
        channelStartedAtMs: context.startedAtMs,
        maxClockSkewMs: 0,
        tickMs: 10,
        timeoutMs: 300,
        logger,
      });
    replica.transport = severable(network.transport(peers[replica.id]));
    const node = new AdaptiveConsensus<string | null>({
      id: replica.id,
      peers,
      transport: replica.transport,
      clock,
      stateMachine: replica.machine,
      channelKeys: replica.keys.channel,
      engines: { raft, pbft },
      handovers: replica.handovers,
      cooldownMs: 0,
      graceMs: 300,
      statusIntervalMs: 50,
      maxClockSkewMs: 0,
      timeoutMs: 400,
      measure: () => networkPhase === "wan" ? WAN : RACK,
      reportEveryMs: 50,
      clientPrefix: `${replica.id}~${incarnation}`,
      logger,
    });
    node.subscribe((event) => {
      if (event.type !== "switched") return;
      if (event.switch.how === "fetched") counts.fetched++;
      noteSwitch(replica.id, event.switch);
    });
    replica.node = node;
    await node.start();
  };
  for (const replica of replicas) await whileAdvancing(clock, start(replica));

  const history: KvOperation[] = [];
  let running = true;
  const operate = async (
    clientId: string,
    kind: KvOperation["kind"],
    key: string,
    state: ReturnType<typeof clientState>,
    target: { replica: Replica },
    keepTrying: () => boolean,
  ): Promise<boolean> => {
    const value = kind === "get" ? null : `${clientId}.${++state.sequence};`;
    const op: KvOperation = { clientId, kind, key, value, callMs: clock.now(), returnMs: Infinity };
    if (kind === "cas") op.expected = state.seen.get(key) ?? null;
    const identity = { clientId, sequence: state.sequence };
    let uncertain = false;
    while (keepTrying()) {
      const replica = target.replica;
      const { node, machine, incarnation } = replica;
      try {
        if (!node) throw new ConsensusError("NOT_LEADER", "down");
        let result: string | null;
        replica.inFlight++;
        try {
          if (kind === "get") {
            await node.read();
            result = machine.get(key);
          } else {
            result = (await node.propose(encodeSimKvCommand(commandOf(op)), { ...identity, timeoutMs: 400 })).result;
          }
        } finally {
          replica.inFlight--;
        }
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
        if (!definite && !uncertain) counts.uncertain++;
        if (!definite) uncertain = true;
        const hint = error instanceof ConsensusError ? error.leaderHint : null;
        target.replica = replicas.find((candidate) => candidate.id === hint && candidate.node) ??
          replicas[Math.floor(random.next() * replicas.length)];
        // A definite failure means it never executed: some clients take the engine at its word and move on,
        // so a failure reported as definite for a command that did execute shows in the history.
        if (definite && !uncertain && kind !== "get" && code !== "NOT_LEADER" && random.next() < 0.5) return false;
        // The identity makes a retry safe: a write whose outcome was unknown is tried again under it.
        if (!definite && kind === "get") return false;
        await sleep(clock, 5);
      }
    }
    if (uncertain && kind !== "get") {
      counts.unknown++;
      state.seen.delete(key);
      history.push(op); // may have taken effect: it never returns
    }
    return false;
  };
  const client = async (clientId: string) => {
    const target = { replica: replicas[0] };
    const state = clientState();
    for (let sequence = 0; running; sequence++) {
      await sleep(clock, random.between(1, 15));
      await operate(clientId, pickKind(random), KEYS[sequence % KEYS.length], state, target, () => running);
    }
  };
  const clients = ["a", "b", "c"].map(client);

  // The network's phases, one switch each; a replica down across one of them; a forced hold in the middle.
  let phaseEndsMs = clock.now() + random.between(PHASE_MS.min, PHASE_MS.max);
  let phase = 0;
  const downAcross = random.next() < 0.8 ? 1 + Math.floor(random.next() * 3) : -1;
  const forcedPhase = 2;
  for (let elapsed = 0; elapsed < RUN_MS; elapsed += 10) {
    if (clock.now() >= phaseEndsMs) {
      phase++;
      phaseEndsMs = clock.now() + random.between(PHASE_MS.min, PHASE_MS.max);
      if (phase === forcedPhase) {
        // An operator holds the cluster in the mode the network does not call for (f + 1 members ask)...
        counts.forced++;
        const mode = networkPhase === "wan" ? "datacenter" : "internet";
        for (const replica of up().slice(0, 2)) replica.node!.force(mode, "sim operator").catch(() => {});
      } else if (phase === forcedPhase + 1) {
        // ...then releases it, and the reports take the cluster back.
        for (const replica of up().slice(0, 2)) replica.node!.force(null, "sim operator").catch(() => {});
      } else {
        networkPhase = networkPhase === "wan" ? "rack" : "wan";
      }
      if (phase === downAcross) {
        const victim = replicas[Math.floor(random.next() * replicas.length)];
        if (victim.node) counts.downAcrossSwitch++;
        crash(victim, random.between(PHASE_MS.max, PHASE_MS.max * 1.5));
      }
    }
    const roll = random.next();
    if (roll < 0.01) {
      const [a, b] = [IDS[Math.floor(random.next() * 4)], IDS[Math.floor(random.next() * 4)]];
      network.setLink(peers[a], peers[b], { delayMs: random.between(0.5, 6), jitterMs: random.between(0, 3) });
    } else if (roll < 0.013) {
      // Mostly a replica that clients are waiting on: their calls' outcomes become unknown.
      const busy = replicas.filter((replica) => replica.inFlight > 0);
      const pool = busy.length > 0 && random.next() < 0.7 ? busy : replicas;
      crash(pool[Math.floor(random.next() * pool.length)], random.between(50, 300));
    }
    for (const replica of replicas) {
      if (!replica.node && replica.restartAtMs !== undefined && clock.now() >= replica.restartAtMs) {
        await whileAdvancing(clock, start(replica));
      }
    }
    await clock.advance(10);
  }
  running = false;
  for (const replica of replicas) if (!replica.node) await whileAdvancing(clock, start(replica));
  for (let i = 0; i < 100; i++) await clock.advance(10);
  await whileAdvancing(clock, Promise.all(clients));
  const deadlineMs = clock.now() + LIVENESS_DEADLINE_MS;
  const live = await whileAdvancing(
    clock,
    (async () => {
      const target = { replica: replicas[0] };
      const state = clientState();
      while (clock.now() < deadlineMs) {
        if (await operate("liveness", "append", "x", state, target, () => clock.now() < deadlineMs)) return true;
      }
      return false;
    })(),
  );
  const epochs = replicas.map((replica) => replica.node?.epoch ?? -1);
  counts.switches = Math.max(...epochs);
  if (new Set(epochs).size !== 1) violations.push(`epochs: the replicas ended in epochs ${epochs.join(", ")}`);
  for (const replica of replicas) noteSwitches(replica);
  for (const replica of replicas) if (replica.node) await whileAdvancing(clock, replica.node.close());
  if (!live) {
    violations.push(
      `liveness: no put committed within ${LIVENESS_DEADLINE_MS} ms after every replica was back (epochs ${epochs})`,
    );
  }
  const settled = settleUnknownWrites(history, (op) => firstAppliedMs.get(op.value!));
  return { seed, violations, linearizability: checkLinearizable(settled), counts };
}

/** What the key holds after `op` answered with `result`. */
function valueAfter(op: KvOperation, result: string | null): string | null {
  if (op.kind === "get" || op.swapped === false) return result;
  return op.kind === "append" ? (result ?? "") + op.value : op.value;
}

function pickKind(random: Random): KvOperation["kind"] {
  const roll = random.next();
  return roll < 0.4 ? "get" : roll < 0.55 ? "put" : roll < 0.75 ? "cas" : "append";
}
