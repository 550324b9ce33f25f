/**
 * One seeded Raft schedule: nodes, clients, a faulty network, crashes and
 * restarts, partitions, membership changes and leader transfers, then a quiet
 * period in which the cluster must make progress again. Everything follows
 * from the seed, so a failing seed replays exactly.
 *
 * @module
 */
import { seededRandom } from "../../core/random.ts";
import { DEFAULT_RAFT_CONFIG, initialState } from "../../plugins/consensus-raft/raft.ts";
import type { Message } from "../../plugins/consensus-raft/types.ts";
import { EventQueue } from "./event_queue.ts";
import { RaftInvariants } from "./invariants.ts";
import { checkLinearizable, type LinearizabilityResult } from "./linearizability.ts";
import { SimNetwork } from "./network.ts";
import { SimClients } from "./sim_clients.ts";
import { logView, SimNode } from "./sim_node.ts";

/** The outcome of one schedule. */
export interface RaftSimResult {
  /** The seed that reproduces it. */
  seed: number;
  /** Invariant violations, liveness failures and exceptions. */
  violations: string[];
  /** The linearizability verdict on the client history. */
  linearizability: LinearizabilityResult;
  /** What happened, for reports. */
  counts: Record<string, number>;
}

const TICK_MS = 10;
const FAULT_PHASE_MS = 2500;
const QUIET_PHASE_MS = 3000;
/** After the faults heal, a put must commit within this long (split votes may take a few rounds). */
const LIVENESS_DEADLINE_MS = 2000;

/**
 * Runs the schedule of `seed`.
 *
 * @example
 * ```ts
 * const result = simulateRaft(7);
 * if (result.violations.length > 0 || !result.linearizability.ok) console.log(`seed ${result.seed} fails`);
 * ```
 */
export function simulateRaft(seed: number, trace?: (line: string) => void): RaftSimResult {
  const random = seededRandom(seed);
  const queue = new EventQueue();
  const invariants = new RaftInvariants();
  const network = new SimNetwork(queue, random, {
    minDelayMs: 1,
    maxDelayMs: random.between(2, 15),
    dropRatio: random.next() < 0.3 ? 0 : random.between(0, 0.1),
    duplicateRatio: random.next() < 0.5 ? 0 : random.between(0, 0.05),
  });
  const voterCount = random.next() < 0.6 ? 3 : 5;
  const voters = Array.from({ length: voterCount }, (_, i) => `n${i + 1}`);
  const spare = `n${voterCount + 1}`;
  const nodes = new Map<string, SimNode>();
  const counts = { elections: 0, crashes: 0, partitions: 0, membershipChanges: 0, transfers: 0, events: 0 };

  const host = {
    invariants,
    send(message: Message) {
      network.send(message.from, message.to, () => nodes.get(message.to)?.run((raft) => raft.step(message)));
    },
    *leaders() {
      for (const node of nodes.values()) {
        if (node.raft?.role === "leader") {
          yield [node.id, node.raft.term, logView(node.raft)] as [string, number, ReturnType<typeof logView>];
        }
      }
    },
  };
  const config = {
    ...DEFAULT_RAFT_CONFIG,
    // Some schedules run without the optional protections, so the core rules are tested on their own too.
    preVote: random.next() < 0.7,
    checkQuorum: random.next() < 0.7,
    maxInflight: 1 + Math.floor(random.next() * 8),
    maxBatchBytes: random.next() < 0.3 ? 1 : 4096, // 1: one entry per append
    random: () => random.next(),
  };
  const [minGapMs, maxGapMs] = random.next() < 0.5 ? [80, 300] : [20, 120];
  for (const id of [...voters, spare]) {
    nodes.set(id, new SimNode(id, initialState(id === spare ? [] : voters), config, host));
  }
  const all = () => [...nodes.values()];
  const leader = () => all().find((node) => node.raft?.role === "leader");

  // Ticks, staggered per node.
  for (const node of all()) {
    const tick = () => {
      node.run((raft) => raft.tick());
      queue.after(TICK_MS, tick);
    };
    queue.after(random.between(0, TICK_MS), tick);
    node.start();
  }

  const clients = new SimClients(queue, random, all, {
    clients: 3,
    keys: ["x", "y", "z"],
    putRatio: 0.6,
    operationTimeoutMs: 400,
    clientDelayMs: 1,
  });
  clients.start(FAULT_PHASE_MS + QUIET_PHASE_MS / 2);

  // Faults during the fault phase.
  const fault = () => {
    if (queue.nowMs >= FAULT_PHASE_MS) return;
    const roll = random.next();
    const current = leader();
    const alive = all().filter((node) => node.alive);
    if (roll < 0.25) {
      counts.partitions++;
      const isolated = random.next() < 0.5 && current
        ? [current.id]
        : all().filter(() => random.next() < 0.4).map((node) => node.id);
      network.partition([isolated]);
      queue.after(random.between(50, 600), () => network.heal());
    } else if (roll < 0.45 && alive.length > 0) {
      counts.crashes++;
      const victim = random.next() < 0.4 && current ? current : alive[Math.floor(random.next() * alive.length)];
      victim.crash();
      queue.after(random.between(20, 500), () => victim.alive || victim.start());
    } else if (roll < 0.55 && current) {
      const members = current.raft!.members;
      const change = !members.includes(spare)
        ? { add: spare }
        : members.length > 3 && random.next() < 0.7
        ? { remove: members[Math.floor(random.next() * members.length)] }
        : undefined;
      if (change) {
        current.run((raft) => {
          try {
            raft.proposeMembership(change);
            counts.membershipChanges++;
          } catch { /* a change is pending or the leader is new: skip */ }
        });
      }
    } else if (roll < 0.65 && current) {
      const others = current.raft!.members.filter((id) => id !== current.id);
      if (others.length > 0) {
        counts.transfers++;
        current.run((raft) => raft.transferLeadership(others[Math.floor(random.next() * others.length)]));
      }
    }
    queue.after(random.between(minGapMs, maxGapMs), fault);
  };
  queue.after(random.between(100, 300), fault);

  // Heal everything, then the cluster must commit again.
  queue.at(FAULT_PHASE_MS, () => {
    network.heal();
    network.faults = { ...network.faults, dropRatio: 0, duplicateRatio: 0 };
    for (const node of all()) if (!node.alive) node.start();
  });
  let live = false;
  queue.at(FAULT_PHASE_MS + 500, () => {
    clients.operate(
      "liveness",
      { leader: null, sequence: 0 },
      "put",
      "x",
      (answered) => live = answered,
      LIVENESS_DEADLINE_MS,
    );
  });

  if (trace) {
    const report = () => {
      const states = all().map((node) => {
        const raft = node.raft;
        if (!raft) return `${node.id}:down`;
        const log = raft.log;
        return `${node.id}:${
          raft.role[0]
        }${raft.term} lead=${raft.leader} c=${log.committed} last=${log.lastIndex}/${log.lastTerm} m=${
          raft.members.join("")
        }`;
      });
      trace(`${queue.nowMs.toFixed(0).padStart(5)}ms ${states.join(" | ")}`);
      queue.after(50, report);
    };
    queue.after(0, report);
  }
  let lastTerm = 0;
  counts.events = queue.runUntil(FAULT_PHASE_MS + QUIET_PHASE_MS);
  for (const node of all()) lastTerm = Math.max(lastTerm, node.raft?.term ?? 0);
  counts.elections = lastTerm;
  const violations = [...invariants.violations];
  if (!live) {
    violations.push(
      `liveness: no put committed within ${LIVENESS_DEADLINE_MS} ms, from 500 ms after the faults healed`,
    );
  }
  return {
    seed,
    violations,
    linearizability: checkLinearizable(clients.history),
    counts: {
      ...counts,
      ...clients.counts,
      operations: clients.history.length,
      snapshots: all().reduce((sum, node) => sum + node.snapshots, 0),
      messages: network.counts.sent,
      dropped: network.counts.dropped,
      duplicated: network.counts.duplicated,
    },
  };
}
