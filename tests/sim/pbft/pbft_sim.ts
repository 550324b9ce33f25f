/**
 * The seeded PBFT simulation. A seed decides everything: 4 or 7 replicas
 * (f = 1 or 2), up to f of them Byzantine with a behaviour each, the
 * network's delays, losses, duplicates and partitions, crashes and restarts
 * of correct replicas (while Byzantine plus crashed stay within f), clock
 * skew between replicas, and clients writing and reading a few keys.
 *
 * Checked after every event, on the correct replicas: **agreement** (they
 * execute the same requests in the same order, and the same batch at each
 * sequence), **validity** (only requests clients issued execute, with the
 * operations they signed, each at most once) and **integrity of the order**
 * (a batch that committed in a view whose primary is correct is one that
 * primary proposed), and **no equivocation by a correct replica** (never
 * two different pre-prepares or prepares of its own for one view and
 * sequence, across its crashes and restarts). At the end: the client
 * history is **linearizable**, and **liveness**: once the network is calm
 * and every correct replica is up, every client's requests complete.
 *
 * @module
 */
import { type Random, seededRandom } from "../../../core/util/random.ts";
import { decodeMessages, encodeMessages } from "../../../plugins/consensus-pbft/codec.ts";
import { digestKey } from "../../../plugins/consensus-pbft/certificates.ts";
import { Membership } from "../../../plugins/consensus-pbft/membership.ts";
import type { PbftConfig, PbftStats } from "../../../plugins/consensus-pbft/pbft.ts";
import type { Execution, MessageBody } from "../../../plugins/consensus-pbft/types.ts";
import { FakeKeys } from "../../support/pbft_fakes.ts";
import { EventQueue } from "../event_queue.ts";
import { checkLinearizable, type KvOperation, type LinearizabilityResult } from "../../../testing/linearizability.ts";
import { SimNetwork } from "../network.ts";
import { PbftSimClient } from "./clients.ts";
import { type Behaviour, BEHAVIOURS, ByzantineReplica, HonestReplica, type SimReplica } from "./replicas.ts";

/** What one run found. */
export interface PbftSimResult {
  /** The seed. */
  seed: number;
  /** Replicas. */
  size: number;
  /** The Byzantine replicas and their behaviours. */
  byzantine: Record<string, Behaviour>;
  /** Every violation of agreement, validity, order integrity and liveness, first one first. */
  violations: string[];
  /** The linearizability verdict on the client history. */
  linearizability: LinearizabilityResult;
  /** What happened, for reports. */
  counts: Record<string, number>;
  /** Operations the clients completed. */
  completed: number;
  /** The highest view any correct replica reached. */
  maxView: number;
  /** Crashes of correct replicas. */
  crashes: number;
  /** State transfers on correct replicas. */
  stateTransfers: number;
  /** Frames that failed to decode. */
  garbageFrames: number;
  /** Messages handed to the network. */
  messages: number;
  /** Each correct replica's stats at the end. */
  replicaStats: Record<string, PbftStats>;
}

/** Choices a caller may force instead of the seed's. */
export interface PbftSimOptions {
  /** Replicas. */
  size?: 4 | 7;
  /** Behaviours of the Byzantine replicas (at most f). */
  byzantine?: Behaviour[];
  /** Print every event. */
  trace?: (line: string) => void;
}

const TICK_MS = 10;
const FAULTS_END_MS = 2_000;
const CLIENTS_STOP_MS = 3_500;
const END_MS = 6_000;
const KEYS = ["k0", "k1", "k2"];

/** A Fisher-Yates shuffle (not `sort` with a random comparator, whose result differs between runtimes). */
function shuffle<T>(items: readonly T[], random: Random): T[] {
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return shuffled;
}

/** Runs one seeded schedule. */
export function runPbftSimulation(seed: number, options: PbftSimOptions = {}): PbftSimResult {
  const random = seededRandom(seed);
  const size = options.size ?? (random.next() < 0.7 ? 4 : 7);
  const members = Array.from({ length: size }, (_, i) => `r${i}`);
  const membership = new Membership(members);
  const f = membership.f;
  const keys = new FakeKeys();
  const queue = new EventQueue();
  const network = new SimNetwork(queue, random, {
    minDelayMs: 1,
    maxDelayMs: 2 + Math.floor(random.next() * 25),
    dropRatio: random.next() < 0.3 ? 0 : random.next() * 0.08,
    duplicateRatio: random.next() * 0.05,
  });
  const config: Partial<PbftConfig> = {
    checkpointInterval: 8,
    windowSize: 32,
    maxInflightBatches: 1 + Math.floor(random.next() * 4),
    maxBatchRequests: 1 + Math.floor(random.next() * 8),
    requestTimeoutTicks: 15 + Math.floor(random.next() * 25),
    viewChangeTimeoutTicks: 20 + Math.floor(random.next() * 20),
    statusTicks: 5 + Math.floor(random.next() * 30),
  };
  const clientIds = Array.from({ length: 3 + Math.floor(random.next() * 3) }, (_, i) => `key:c${i}`);
  const context = { members, config, verifier: keys, random };

  // Seeds take the behaviours in turn (and every so often none), so any run of seeds covers them all.
  const turn = seed % (BEHAVIOURS.length + 1);
  const chosen = options.byzantine ??
    (turn === BEHAVIOURS.length ? [] : [
      BEHAVIOURS[turn],
      ...Array.from({ length: f - 1 }, () => BEHAVIOURS[Math.floor(random.next() * BEHAVIOURS.length)]),
    ]);
  const byzantineCount = chosen.length;
  const shuffled = shuffle(members, random);
  const byzantine: Record<string, Behaviour> = {};
  for (let i = 0; i < byzantineCount; i++) byzantine[shuffled[i]] = chosen[i];
  const replicas = new Map<string, SimReplica>();
  for (const id of members) {
    const signer = keys.signer(id);
    replicas.set(
      id,
      byzantine[id]
        ? new ByzantineReplica(id, byzantine[id], signer, context, clientIds)
        : new HonestReplica(id, signer, context),
    );
  }
  const honest = [...replicas.values()].filter((replica): replica is HonestReplica => !replica.byzantine);

  const violations: string[] = [];
  const history: KvOperation[] = [];
  const issued = new Map<string, string>();
  let garbageFrames = 0;
  const trace = options.trace;

  // ---- the checks --------------------------------------------------------------
  const referenceLog: string[] = [];
  /** What correct primaries proposed, by `view:sequence`. */
  const proposals = new Map<string, string>();
  const referenceBatches = new Map<number, string>();
  const checked = new Map<string, { log: string[]; length: number; seen: Set<string> }>();

  function violation(text: string): void {
    if (violations.length < 20) violations.push(`${queue.nowMs.toFixed(1)} ms: ${text}`);
  }

  function checkExecutions(replica: HonestReplica, executions: Execution[]): void {
    const bySequence = new Map<number, string[]>();
    for (const { sequence, request, results, view, digest } of executions) {
      if (view !== undefined && !byzantine[membership.primaryOf(view)]) {
        const proposed = proposals.get(`${view}:${sequence}`);
        if (proposed !== digestKey(digest)) {
          violation(
            `integrity: ${replica.id} executed at ${sequence} a batch the correct primary of view ${view} never proposed`,
          );
        }
      }
      const list = bySequence.get(sequence) ?? [];
      list.push(`${request.client}:${request.sequence}`);
      bySequence.set(sequence, list);
      if (results === undefined) continue;
      const expected = issued.get(`${request.client}:${request.sequence}`);
      const operations = JSON.stringify(request.operations.map((op) => JSON.parse(new TextDecoder().decode(op))));
      if (expected !== operations) {
        violation(
          `validity: ${replica.id} executed ${request.client}:${request.sequence} = ${operations}, never issued`,
        );
      }
    }
    for (const [sequence, list] of bySequence) {
      const key = list.join(",");
      trace?.(`${queue.nowMs.toFixed(1)} ${replica.id} executes ${sequence}: ${key}`);
      const reference = referenceBatches.get(sequence);
      if (reference === undefined) referenceBatches.set(sequence, key);
      else if (reference !== key) {
        violation(`agreement: ${replica.id} executed [${key}] at ${sequence}, another correct replica [${reference}]`);
      }
    }
  }

  function checkLog(replica: HonestReplica): void {
    const log = replica.service.executedLog;
    let state = checked.get(replica.id);
    if (!state || state.log !== log) {
      state = { log, length: 0, seen: new Set() };
      checked.set(replica.id, state);
    }
    const base = replica.service.logBase;
    for (let i = state.length; i < log.length; i++) {
      const entry = log[i];
      const position = base + i;
      if (state.seen.has(entry)) violation(`validity: ${replica.id} executed ${entry} twice`);
      state.seen.add(entry);
      if (!issued.has(entry)) violation(`validity: ${replica.id} executed ${entry}, which no client issued`);
      if (referenceLog[position] === undefined) referenceLog[position] = entry;
      else if (referenceLog[position] !== entry) {
        violation(
          `agreement: ${replica.id} executed ${entry} as request ${position + 1}, another correct replica ${
            referenceLog[position]
          }`,
        );
      }
    }
    state.length = log.length;
  }

  // ---- moving messages ------------------------------------------------------------
  const clients = new Map<string, PbftSimClient>();

  // Some links are slow (both ways may differ): replicas fall behind each other for a while.
  const slowLinks = new Map<string, number>();
  for (const from of members) {
    for (const to of members) {
      if (from !== to && random.next() < 0.2) slowLinks.set(`${from}>${to}`, random.between(20, 120));
    }
  }
  /** While set, the adversary drops what it returns true for. */
  let dropIf: ((from: string, to: string, body: MessageBody | undefined) => boolean) | undefined;
  function send(from: string, to: string, deliverIt: () => void, body?: MessageBody): void {
    if (dropIf?.(from, to, body)) return;
    const extraMs = slowLinks.get(`${from}>${to}`);
    if (extraMs === undefined) network.send(from, to, deliverIt);
    else network.send(from, to, () => queue.after(extraMs, deliverIt));
  }

  function recordProposals(sent: MessageBody): void {
    if (sent.type === "prePrepare") proposals.set(`${sent.view}:${sent.sequence}`, digestKey(sent.digest));
    if (sent.type === "newView") { for (const prePrepare of sent.prePrepares) recordProposals(prePrepare); }
  }

  /** What each correct replica pre-prepared or prepared, per view and sequence, across its restarts. */
  const signedOnce = new Map<string, string>();
  function checkOwnMessages(replica: SimReplica, sent: MessageBody): void {
    const signed = sent.type === "prePrepare" || sent.type === "prepare"
      ? [sent]
      : sent.type === "newView"
      ? sent.prePrepares
      : [];
    // Its own: prepares it signed, and pre-prepares of views it leads (others it only passes on).
    const own = signed.filter((message) =>
      message.type === "prepare" ? message.replica === replica.id : membership.primaryOf(message.view) === replica.id
    );
    for (const message of own) {
      const key = `${replica.id} ${message.type} (${message.view}, ${message.sequence})`;
      const digest = digestKey(message.digest);
      const before = signedOnce.get(key);
      if (before === undefined) signedOnce.set(key, digest);
      else if (before !== digest) violation(`equivocation by a correct replica: ${key} with two digests`);
    }
  }

  function flush(replica: SimReplica): void {
    for (const sent of replica.drain()) {
      if (!replica.byzantine && sent.body) {
        recordProposals(sent.body);
        checkOwnMessages(replica, sent.body);
      }
      // What a Byzantine replica sends always crosses the codec; a sample of the rest does too.
      const encode = sent.frame !== undefined || replica.byzantine || random.next() < 0.05;
      const payload: Uint8Array | MessageBody[] = sent.frame ?? (encode ? encodeMessages([sent.body!]) : [sent.body!]);
      for (const to of sent.to) send(replica.id, to, () => deliver(replica.id, to, payload), sent.body);
    }
    if (replica instanceof HonestReplica) {
      checkExecutions(replica, replica.takeExecutions());
      checkLog(replica);
    }
  }

  function deliver(from: string, to: string, payload: Uint8Array | MessageBody[]): void {
    let bodies: MessageBody[];
    try {
      bodies = payload instanceof Uint8Array ? decodeMessages(payload) : payload;
    } catch {
      garbageFrames++;
      return;
    }
    const client = clients.get(to);
    if (client) {
      for (const body of bodies) if (body.type === "reply") client.onReply(from, body);
      return;
    }
    const replica = replicas.get(to);
    if (!replica) return violation(`a replica sent ${bodies.map((body) => body.type)} to ${to}, who is no one`);
    for (const body of bodies) {
      trace?.(`${queue.nowMs.toFixed(1)} ${from} -> ${to} ${body.type}`);
      replica.receive(from, body);
    }
    flush(replica);
  }

  function sendFromClient(from: string, to: string[], body: MessageBody): void {
    const frame = encodeMessages([body]);
    for (const receiver of to) send(from, receiver, () => deliver(from, receiver, frame));
  }

  // ---- the schedule ----------------------------------------------------------------
  for (const replica of replicas.values()) {
    const periodMs = TICK_MS * (0.8 + 0.4 * random.next()); // clock skew
    const tick = () => {
      replica.tick();
      flush(replica);
      if (queue.nowMs < END_MS) queue.after(periodMs, tick);
    };
    queue.after(random.between(0, periodMs), tick);
    flush(replica);
  }

  const environment = { queue, random, membership, send: sendFromClient, history, issued, keys: KEYS, verifier: keys };
  for (const id of clientIds) {
    const client = new PbftSimClient(id, keys.signer(id), environment);
    clients.set(id, client);
    queue.after(random.between(0, 50), () => client.start(CLIENTS_STOP_MS));
  }

  let crashes = 0;
  const crashed = new Set<HonestReplica>();
  const budget = f - byzantineCount;
  const faultEvents = Math.floor(random.next() * 20);
  for (let i = 0; i < faultEvents; i++) {
    const atMs = random.between(100, FAULTS_END_MS - 300);
    const kind = random.next();
    queue.at(atMs, () => {
      if (kind < 0.45) {
        const victim = honest[Math.floor(random.next() * honest.length)];
        if (!victim.up || crashed.size >= budget) return;
        trace?.(`${queue.nowMs.toFixed(1)} crash ${victim.id}`);
        victim.crash();
        crashed.add(victim);
        crashes++;
        queue.after(random.between(100, 1_200), () => {
          if (!crashed.has(victim)) return;
          trace?.(`${queue.nowMs.toFixed(1)} restart ${victim.id}`);
          crashed.delete(victim);
          victim.restart();
          flush(victim);
        });
      } else if (kind < 0.6 && byzantineCount === f && f > 0) {
        splitVote();
      } else if (kind < 0.75) {
        // Split everyone (clients too) into two sides at random for a while.
        const sides: string[][] = [[], []];
        for (const id of [...members, ...clientIds]) sides[random.next() < 0.5 ? 0 : 1].push(id);
        trace?.(`${queue.nowMs.toFixed(1)} split ${sides[0].join(",")} | ${sides[1].join(",")}`);
        if (attacking) return;
        network.partition(sides);
        queue.after(random.between(50, 400), () => attacking || network.heal());
      } else {
        // Cut one replica off (often the primary, as the clients still reach it).
        const primary = honest.find((replica) => replica.up)?.machine.primary ?? members[0];
        const isolated = random.next() < 0.5 ? primary : members[Math.floor(random.next() * size)];
        trace?.(`${queue.nowMs.toFixed(1)} isolate ${isolated}`);
        if (attacking) return;
        network.partition([[isolated, ...clientIds]]);
        queue.after(random.between(100, 800), () => attacking || network.heal());
      }
    });
  }
  /**
   * The split vote: f correct backups (the victims), the Byzantine replicas
   * and the primary hear a pre-prepare that the other f correct backups do
   * not; the Byzantine replicas vote for the victims only, so the victims
   * reach what a too-small quorum would take for committed; then the
   * victims are cut off, the others never see that pre-prepare, and a view
   * change without the victims' certificates follows.
   */
  let attacking = false;
  function splitVote(): void {
    const observer = honest.find((replica) => replica.up)?.machine;
    if (!observer || attacking) return;
    // Only in steady state: every correct replica up, in the same view, not changing it.
    const steady = honest.every((replica) =>
      replica.up && replica.machine.view === observer.view && !replica.machine.viewChanging
    );
    if (!steady) return;
    const primary = observer.primary;
    // The next view's primary must be correct and on the others' side, or it would bring the victims' batch back.
    const nextPrimary = membership.primaryOf(observer.view + 1);
    const backups = honest.filter((replica) => replica.up && replica.id !== primary).map((replica) => replica.id);
    if (byzantine[primary] || byzantine[nextPrimary] || backups.length < 2 * f) return;
    attacking = true;
    const candidates = shuffle(backups.filter((id) => id !== nextPrimary), random);
    const victims = candidates.slice(0, f);
    const others = backups.filter((id) => !victims.includes(id));
    const conspirators = [...replicas.values()].filter((replica): replica is ByzantineReplica =>
      replica instanceof ByzantineReplica
    );
    trace?.(`${queue.nowMs.toFixed(1)} split vote: victims ${victims.join(",")}, others ${others.join(",")}`);
    for (const conspirator of conspirators) conspirator.conspire(victims);
    const byzantineIds = conspirators.map((replica) => replica.id);
    network.partition([[primary, ...victims, ...byzantineIds, ...clientIds], others]);
    queue.after(random.between(60, 250), () => {
      network.partition([victims, [primary, ...others, ...byzantineIds, ...clientIds]]);
      dropIf = (from, to, body) => from === primary && others.includes(to) && body?.type === "prePrepare";
      queue.after(random.between(400, 1_500), () => {
        dropIf = undefined;
        attacking = false;
        network.heal();
        for (const conspirator of conspirators) conspirator.conspire(undefined);
      });
    });
  }

  queue.at(FAULTS_END_MS, () => {
    trace?.(`${queue.nowMs.toFixed(1)} calm`);
    network.heal();
    network.faults = { minDelayMs: 1, maxDelayMs: 5, dropRatio: 0, duplicateRatio: 0 };
    slowLinks.clear();
    dropIf = undefined;
    attacking = false;
    for (const replica of replicas.values()) if (replica instanceof ByzantineReplica) replica.conspire(undefined);
    for (const victim of crashed) {
      victim.restart();
      flush(victim);
    }
    crashed.clear();
    for (const client of clients.values()) client.mark(queue.nowMs);
  });

  queue.runUntil(END_MS);

  // ---- the end ---------------------------------------------------------------------
  for (const client of clients.values()) {
    if (client.busy) violation(`liveness: ${client.id} still waits at the end`);
    else if (client.completedSinceMark === 0) violation(`liveness: ${client.id} completed nothing once calm`);
  }
  const fullHistory = [...history, ...[...clients.values()].flatMap((client) => client.unfinished())];
  const linearizability = checkLinearizable(fullHistory);
  const completed = [...clients.values()].reduce((sum, client) => sum + client.completed, 0);
  const maxView = Math.max(...honest.map((replica) => replica.machine.view));
  const stateTransfers = honest.reduce((sum, replica) => sum + replica.machine.stats().stateTransfers, 0);

  return {
    seed,
    size,
    byzantine,
    violations,
    linearizability,
    counts: { operations: completed, maxView, crashes, stateTransfers, garbageFrames, messages: network.counts.sent },
    completed,
    maxView,
    crashes,
    stateTransfers,
    garbageFrames,
    messages: network.counts.sent,
    replicaStats: Object.fromEntries(honest.map((replica) => [replica.id, replica.machine.stats()])),
  };
}
