/**
 * One seeded Raft schedule: nodes with skewed clocks, clients next to their
 * home nodes, a faulty network (delay, a long tail, loss, duplicates, slow
 * nodes, partitions that cut clients off with their node), crashes and
 * restarts (some aimed at new leaders and at voters just after their vote),
 * membership changes and leader transfers, then a quiet period in which the
 * cluster must make progress again. Everything follows from the seed, so a
 * failing seed replays exactly.
 *
 * @module
 */
import { seededRandom } from "../../core/util/random.ts";
import { DEFAULT_RAFT_CONFIG, initialState } from "../../plugins/consensus-raft/raft.ts";
import type { Message } from "../../plugins/consensus-raft/types.ts";
import { EventQueue } from "./event_queue.ts";
import { type LogView, RaftInvariants } from "./invariants.ts";
import { checkLinearizable, type LinearizabilityResult, settleUnknownWrites } from "../../testing/linearizability.ts";
import { SimNetwork } from "./network.ts";
import { clientState, SimClients } from "./sim_clients.ts";
import { SimNode } from "./sim_node.ts";
import type { SimKvCommand } from "./sim_kv.ts";

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
/** A schedule runs some 10,000 to 30,000 events; far more means it does not settle. */
const MAX_EVENTS = 1_000_000;

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
    tailRatio: random.next() < 0.5 ? 0 : random.between(0.01, 0.05),
    tailDelayMs: 300,
  });
  const voterCount = random.next() < 0.6 ? 3 : 5;
  const voters = Array.from({ length: voterCount }, (_, i) => `n${i + 1}`);
  const spare = `n${voterCount + 1}`;
  const nodes = new Map<string, SimNode>();
  const counts = {
    elections: 0,
    crashes: 0,
    partitions: 0,
    membershipChanges: 0,
    transfers: 0,
    slowNodes: 0,
    leaderFaults: 0,
    voterCrashes: 0,
    events: 0,
  };
  const faulting = () => queue.nowMs < FAULT_PHASE_MS;
  const crash = (victim: SimNode, downMs: number) => {
    counts.crashes++;
    victim.crash();
    queue.after(downMs, () => victim.alive || victim.start());
  };
  const isolate = (ids: string[], forMs: number) => {
    counts.partitions++;
    network.partition([ids]);
    queue.after(forMs, () => network.heal());
  };
  // Some schedules aim faults at new leaders: crashed or cut off moments after they win, terms pile up
  // whose entries sit on a minority, the situations of the paper's Figure 8.
  const leaderFaultRatio = random.next() < 0.2 ? 0 : random.between(0.3, 0.9);
  // Some schedules crash a voter just after its vote leaves, and restart it at once: a vote it forgot
  // would be given again in the same term.
  const voterCrashRatio = random.next() < 0.5 ? 0 : random.between(0.1, 0.4);
  const firstAppliedMs = new Map<string, number>();

  const host = {
    invariants,
    send(message: Message) {
      if (message.type === "voteResp" && message.granted) {
        invariants.voteGranted(message.from, message.to, message.term);
      }
      if (message.type === "voteResp" && message.granted && faulting() && random.next() < voterCrashRatio) {
        const voter = nodes.get(message.from)!;
        queue.after(random.between(0, 3), () => {
          if (!voter.alive) return;
          counts.voterCrashes++;
          crash(voter, random.between(1, 10));
        });
      }
      network.send(message.from, message.to, () => nodes.get(message.to)?.run((raft) => raft.step(message)));
    },
    *leaders() {
      for (const node of nodes.values()) {
        if (node.raft?.role === "leader") {
          yield [node.id, node.raft.term, node.view] as [string, number, LogView];
        }
      }
    },
    committed(id: string, index: number, term: number) {
      invariants.committed(id, index, term, views);
    },
    applied(command: SimKvCommand) {
      if (!firstAppliedMs.has(command.value)) firstAppliedMs.set(command.value, queue.nowMs);
    },
    elected(id: string, term: number) {
      if (!faulting() || random.next() >= leaderFaultRatio) return;
      const crashIt = random.next() < 0.5;
      queue.after(random.between(0, 30), () => {
        const node = nodes.get(id)!;
        if (!faulting() || node.raft?.role !== "leader" || node.raft.term !== term) return;
        counts.leaderFaults++;
        if (crashIt) return crash(node, random.between(20, 300));
        // Cut off alone or with a minority of followers, which then hold its entries while the rest moves on.
        const members = node.raft.members.filter((other) => other !== id);
        const company = members.filter(() => random.next() < 0.5).slice(0, Math.floor(members.length / 2) - 1);
        isolate([id, ...company], random.between(50, 400));
      });
    },
  };
  const config = {
    ...DEFAULT_RAFT_CONFIG,
    // Some schedules run without the optional protections, so the core rules are tested on their own too.
    preVote: random.next() < 0.7,
    checkQuorum: random.next() < 0.7,
    maxInflight: 1 + Math.floor(random.next() * 8),
    // 1: one entry per append; 256: a few. Followers that catch up in small steps acknowledge entries of
    // earlier terms on their own, which is when the commit rule's term check matters.
    maxBatchBytes: [1, 1, 256, 4096][Math.floor(random.next() * 4)],
    random: () => random.next(),
  };
  const [minGapMs, maxGapMs] = random.next() < 0.5 ? [80, 300] : [20, 120];
  for (const id of [...voters, spare]) {
    nodes.set(id, new SimNode(id, initialState(id === spare ? [] : voters), config, host));
  }
  const all = () => [...nodes.values()];
  const views = all().map((node) => node.view);
  const leader = () => all().find((node) => node.raft?.role === "leader");

  // Ticks, staggered per node. In half the schedules every node's clock runs at its own rate, so timeouts
  // disagree: a leader whose clock is slow notices late that it lost its quorum, while the others elect.
  const skewed = random.next() < 0.5;
  for (const node of all()) {
    const tickMs = skewed ? TICK_MS * random.between(0.75, 1.33) : TICK_MS;
    const tick = () => {
      node.run((raft) => raft.tick());
      queue.after(tickMs, tick);
    };
    queue.after(random.between(0, tickMs), tick);
    node.start();
  }

  const clients = new SimClients(queue, random, all, {
    clients: 5,
    keys: ["x", "y", "z"],
    mix: { get: 0.4, put: 0.15, cas: 0.2, append: 0.25 },
    // Clients that give up sooner go looking for the new leader while an old one is cut off.
    operationTimeoutMs: random.next() < 0.5 ? 400 : random.between(100, 250),
    clientDelayMs: 1,
    reachable: (home, node) => network.connected(home, node),
  });
  clients.start(FAULT_PHASE_MS + QUIET_PHASE_MS / 2);

  const changeMembership = (current: SimNode) => {
    const members = current.raft!.members;
    const change = !members.includes(spare)
      ? { add: spare }
      : members.length > 3 && random.next() < 0.7
      ? { remove: members[Math.floor(random.next() * members.length)] }
      : undefined;
    if (!change) return;
    current.run((raft) => {
      try {
        raft.proposeMembership(change);
        counts.membershipChanges++;
      } catch { /* a change is pending or the leader is new: skip */ }
    });
  };

  // Faults during the fault phase.
  const fault = () => {
    if (!faulting()) return;
    const roll = random.next();
    const current = leader();
    const alive = all().filter((node) => node.alive);
    if (roll < 0.22) {
      // Clients are cut off with their home node (a leader cut off still serves its own clients).
      const isolated = random.next() < 0.5 && current
        ? [current.id]
        : all().filter(() => random.next() < 0.4).map((node) => node.id);
      isolate(isolated, random.between(50, 600));
    } else if (roll < 0.4 && alive.length > 0) {
      const victim = random.next() < 0.4 && current ? current : alive[Math.floor(random.next() * alive.length)];
      crash(victim, random.between(20, 500));
    } else if (roll < 0.5 && current) {
      // Changes in quick succession: the second must wait for the first to apply.
      changeMembership(current);
      queue.after(random.between(0, 20), () => current.raft?.role === "leader" && changeMembership(current));
    } else if (roll < 0.62 && current) {
      const others = current.raft!.members.filter((id) => id !== current.id);
      if (others.length > 0) {
        counts.transfers++;
        current.run((raft) => raft.transferLeadership(others[Math.floor(random.next() * others.length)]));
      }
    } else if (roll < 0.77) {
      // A slow node (an overloaded host, a congested link): its messages, both ways, take much longer than the
      // rest, long enough that the others may elect without it while its old messages still arrive.
      counts.slowNodes++;
      const slow = random.next() < 0.7 && current ? current.id : all()[Math.floor(random.next() * nodes.size)].id;
      network.slow(slow, random.between(50, 400));
      queue.after(random.between(200, 800), () => network.slow(slow, 0));
    }
    queue.after(random.between(minGapMs, maxGapMs), fault);
  };
  queue.after(random.between(100, 300), fault);

  // Heal everything, then the cluster must commit again.
  queue.at(FAULT_PHASE_MS, () => {
    network.heal();
    for (const node of all()) network.slow(node.id, 0);
    network.faults = { ...network.faults, dropRatio: 0, duplicateRatio: 0, tailRatio: 0 };
    for (const node of all()) if (!node.alive) node.start();
  });
  let live = false;
  queue.at(FAULT_PHASE_MS + 500, () => {
    clients.operate(
      "liveness",
      clientState(),
      "append",
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
  try {
    counts.events = queue.runUntil(FAULT_PHASE_MS + QUIET_PHASE_MS, MAX_EVENTS);
  } catch (error) {
    invariants.violations.push(String(error));
  }
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
    linearizability: checkLinearizable(
      settleUnknownWrites(clients.history, (op) => firstAppliedMs.get(op.value!)),
    ),
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
