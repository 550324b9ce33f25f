/**
 * Switching under load (issue 16): streams of numbered frames and numbered
 * consensus commands keep flowing while the mode switches, forced and
 * detected, in every direction; nothing may be lost, duplicated or
 * reordered per stream.
 *
 * 1. **Frames, 1,000 manager switches.** One `HybridManager` on the real
 *    clock, detecting every millisecond from a scripted probe, serves two
 *    components: `link`, one implementation per mode (each dials its own
 *    connection over the memory transport, with the mode's link model: no
 *    delay, 0.5 ms, 2 ± 1 ms with 2 % loss; see
 *    `tests/support/frame_streams.ts`), and `codec`, LZ4 for datacenter and
 *    one zstd-3 for internet and hybrid (an implementation serving two
 *    modes, so a third of the switches leave it in place). Twelve streams
 *    send numbered frames through whatever serves at the moment, four in
 *    flight each, while the manager switches 1,000 times along datacenter →
 *    hybrid → internet → datacenter → internet → hybrid → datacenter …,
 *    every direction both by `forceMode` (then `resumeAutoDetection`) and by
 *    detection (the probe measures the next mode's link). Each link holds
 *    its frames in a write buffer until a timer turn flushes them, so every
 *    switch finds frames queued on the outgoing link, and retiring it before
 *    its drain completed would lose them. The receiver reads the links'
 *    connections in the order they were opened and checks that each stream
 *    arrives exactly once, in order, intact; the switches are counted from
 *    the manager's events and history and must be exactly the plan.
 * 2. **Commands, Raft ⇄ PBFT.** Four adaptive replicas in memory
 *    (`tests/support/adaptive_cluster.ts`) under eight clients proposing
 *    numbered commands (client id and sequence, the same identity retried
 *    through switches) switch engines, forced (f + 1 members hold a mode,
 *    then release it) and detected (every member measures the next mode's
 *    link), in every direction that changes engines (datacenter and hybrid
 *    ⇄ internet). One engine switch with the waits around it (every replica
 *    on the new engine, commands acknowledged in it, a forced hold released)
 *    takes about 100 ms on Deno and 50 ms on Bun in one process on two
 *    cores, so 1,000 would take one to two minutes: this part switches in
 *    whole rounds of eight (each direction forced once and detected once)
 *    until {@linkcode ENGINE_BUDGET_MS} has passed, at least one round and at
 *    most 1,000 switches (150 to 200 on Deno and 350 to 400 on Bun here,
 *    depending on the machine's load), and prints how many. Every
 *    acknowledged command must be applied exactly once, per client in
 *    sequence order, on every replica, and the replicas must agree.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  type Committed,
  componentKey,
  type ConsensusStateMachine,
  HybridManager,
  type ManagerEvents,
  type Mode,
  MODES,
  type NetworkSample,
  silentLogger,
  type SwitchRecord,
  SystemClock,
} from "../../mod.ts";
import type { TransportListener } from "../../core/contracts/transport.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { LinkModel } from "../../plugins/transport-memory/mod.ts";
import { type AdaptiveTestCluster, startAdaptiveCluster } from "../support/adaptive_cluster.ts";
import { FrameReceiver, GuardedCompressor, type LinkGroup, ModeLink, streamPayload } from "../support/frame_streams.ts";
import { LINKS, ScriptedProbe } from "../support/scripted_probe.ts";

/** Waits (real time) until `check` holds, failing after `timeoutMs` with `what` and, if given, `detail()`. */
async function until(check: () => boolean, what: string, timeoutMs = 20_000, detail?: () => unknown): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting until ${what}${detail ? `: ${JSON.stringify(detail())}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** The next `event` of `manager` that `matches`; listen before doing what causes it. */
function nextEvent<K extends keyof ManagerEvents>(
  manager: HybridManager,
  event: K,
  matches: (payload: ManagerEvents[K]) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<ManagerEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (mode ${manager.currentMode})`));
    }, timeoutMs);
    const off = manager.on(event, (payload) => {
      if (!matches(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

// ---- 1. frames through 1,000 manager switches ------------------------------------------------

const SWITCHES = 1_000;
/** From datacenter, every direction once: dc→hy, hy→in, in→dc, dc→in, in→hy, hy→dc. */
const CYCLE: readonly Mode[] = ["hybrid", "internet", "datacenter", "internet", "hybrid", "datacenter"];
const STREAMS = 12;
const IN_FLIGHT = 4;
const LINK_MODELS: Record<Mode, Partial<LinkModel>> = {
  datacenter: {},
  hybrid: { delayMs: 0.5, jitterMs: 0.25 },
  internet: { delayMs: 2, jitterMs: 1, lossRatio: 0.02 },
};
const LINK = componentKey<ModeLink>("link");
const CODEC = componentKey<GuardedCompressor>("codec");

Deno.test({
  name:
    "switching under load: 1,000 forced and detected mode switches in every direction while 12 streams of numbered frames flow through the switched link and codec; none lost, duplicated or reordered",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const startedMs = Date.now();
    const clock = new SystemClock();
    const network = new MemoryNetwork({ clock, seed: 16 });
    const group: LinkGroup = { clock, lastGeneration: 0, misuse: [], flushedWhileDraining: 0 };
    const listeners: Record<string, TransportListener> = {};
    const links = {} as Record<Mode, ModeLink>;
    for (const mode of MODES) {
      const address = `receiver-${mode}`;
      network.setLink("sender", address, LINK_MODELS[mode]);
      listeners[mode] = await network.transport(address).listen(address);
      links[mode] = new ModeLink(mode, network.transport("sender"), address, group);
    }
    const zstd = await zstdCompressor({ level: 3 });
    const zstdReader = await zstdCompressor({ level: 3 });
    const receiver = new FrameReceiver(listeners, [lz4Compressor(), zstdReader]);
    const probe = new ScriptedProbe("link", LINKS.datacenter);
    const manager = new HybridManager({
      clock,
      probes: [probe],
      logger: silentLogger,
      nodeId: "switching-under-load",
      config: {
        initialMode: "datacenter",
        detectionIntervalMs: 1,
        probeTimeoutMs: 1,
        sampleWindow: 1,
        cooldownMs: 0,
        drainTimeoutMs: 10_000,
        activateTimeoutMs: 10_000,
        historyLimit: 2 * SWITCHES,
      },
    });
    manager.registerComponent(LINK, links);
    manager.registerComponent(
      CODEC,
      new GuardedCompressor(lz4Compressor(), group.misuse),
      new GuardedCompressor(zstd, group.misuse),
    );
    const switched: SwitchRecord[] = [];
    const unsuccessful: SwitchRecord[] = [];
    manager.on("switch", (record) => switched.push(record));
    manager.on("switch-failed", (record) => unsuccessful.push(record));
    manager.on("switch-refused", (record) => unsuccessful.push(record));

    const sent = Array.from({ length: STREAMS }, () => 0);
    const sendFailures: string[] = [];
    let stopping = false;
    let streams: Promise<void>[] = [];
    try {
      await manager.start();
      streams = Array.from({ length: STREAMS }, async (_, stream) => {
        // Up to IN_FLIGHT frames queued at once, each through the codec and the link serving at that moment. A
        // stream stops at its first failed frame (and the test fails on it).
        const inFlight: Promise<void>[] = [];
        let broken = false;
        for (let sequence = 1; !stopping && !broken; sequence++) {
          sent[stream] = sequence;
          const failure = (error: Error) => {
            broken = true;
            sendFailures.push(`stream ${stream} frame ${sequence}: ${error.message}`);
          };
          const frame = await manager.getComponent(CODEC).compress(streamPayload(stream, sequence)).catch(failure);
          if (!frame) break;
          inFlight.push(manager.getComponent(LINK).send(frame).catch(failure));
          if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
        }
        await Promise.all(inFlight);
      });
      await until(() => receiver.report().frames >= STREAMS * 20, "frames flow before the first switch");

      for (let i = 0; i < SWITCHES; i++) {
        const to = CYCLE[i % CYCLE.length];
        const forced = (i + Math.floor(i / CYCLE.length)) % 2 === 0; // each direction both ways, cycle by cycle
        if (forced) {
          await manager.forceMode(to, `switch ${i}: forced`);
          // "switched", or "unchanged" when a detection round queued before it switched to the hold itself.
          assert.equal(manager.currentMode, to, `switch ${i}: forced to ${to}`);
          // The probe follows the hold before it is released, and a round measures it first: no round still holds
          // the old mode's measurement, so releasing the hold starts no switch.
          const measured = nextEvent(manager, "sample", (event) => event.sample.rttMs === LINKS[to].rttMs, `a sample`);
          probe.next = LINKS[to];
          await measured;
          manager.resumeAutoDetection();
        } else {
          const detected = nextEvent(manager, "switch", (record) => record.to === to, `switch ${i}: detected ${to}`);
          probe.next = LINKS[to];
          await detected;
        }
      }

      stopping = true;
      await Promise.all(streams);
      const arrived = () => sent.every((last, stream) => (receiver.expected.get(stream) ?? 1) > last);
      const wrong = () => receiver.report().violations > 0 || sendFailures.length > 0;
      await until(() => arrived() || wrong(), "every frame sent has arrived", 20_000, () => ({
        sent,
        expected: [...receiver.expected],
        report: receiver.report(),
      }));

      const report = receiver.report();
      assert.deepEqual(sendFailures.slice(0, 20), [], `${sendFailures.length} frames failed to send`);
      assert.deepEqual(report.details, [], `${report.violations} frames out of sequence or damaged`);
      assert.deepEqual(group.misuse.slice(0, 20), [], "work on an implementation that was not serving");
      for (let stream = 0; stream < STREAMS; stream++) {
        assert.equal(receiver.expected.get(stream), sent[stream] + 1, `stream ${stream}: every frame, once, in order`);
      }
      const total = sent.reduce((sum, count) => sum + count, 0);
      assert.equal(report.frames, total);

      // The switches, from the events and from the history: exactly the plan, none failed, no drain cut short.
      const stats = manager.getStats();
      assert.deepEqual(unsuccessful, []);
      assert.equal(switched.length, SWITCHES);
      assert.equal(stats.modeChanges, SWITCHES);
      assert.equal(stats.drainTimeouts, 0);
      assert.equal(stats.history.length, SWITCHES);
      const directions = new Map<string, number>();
      stats.history.forEach((record, i) => {
        const from = i === 0 ? "datacenter" : CYCLE[(i - 1) % CYCLE.length];
        const origin = (i + Math.floor(i / CYCLE.length)) % 2 === 0 ? "forced" : "auto";
        assert.deepEqual([record.from, record.to, record.origin, record.outcome], [
          from,
          CYCLE[i % CYCLE.length],
          origin,
          "success",
        ], `switch ${i}`);
        const key = `${record.from}→${record.to} ${record.origin}`;
        directions.set(key, (directions.get(key) ?? 0) + 1);
      });
      assert.equal(directions.size, 12, `every direction, forced and detected: ${[...directions.keys()]}`);
      for (const count of directions.values()) assert.ok(count >= Math.floor(SWITCHES / 12), `${count} times`);
      // One new connection per switch, each read to its end by the receiver, and frames on every mode's link, some
      // handed to a connection while its link drained (the switches had frames in flight).
      assert.equal(group.lastGeneration, SWITCHES + 1);
      assert.equal(report.generations, SWITCHES + 1);
      for (const mode of MODES) assert.ok((report.framesByMode[mode] ?? 0) > 0, `frames over the ${mode} link`);
      assert.ok(group.flushedWhileDraining > 0, "frames were in flight during switches");
      console.log(
        `  ${SWITCHES} mode switches (${stats.history.filter((r) => r.origin === "forced").length} forced), ` +
          `${total} frames on ${STREAMS} streams (${group.flushedWhileDraining} sent while their link drained), ` +
          `${((Date.now() - startedMs) / 1000).toFixed(1)} s`,
      );
    } finally {
      stopping = true;
      await Promise.allSettled(streams);
      await manager.close();
      await receiver.close();
      await Promise.all(Object.values(listeners).map((listener) => listener.close()));
      await zstd.close();
      await zstdReader.close();
    }
  },
});

// ---- 2. commands through Raft ⇄ PBFT switches ------------------------------------------------

/** How long part 2 keeps switching engines (it always completes the round of eight it is in). */
const ENGINE_BUDGET_MS = 20_000;
const MAX_ENGINE_SWITCHES = 1_000;
const CLIENTS = 8;
const SAMPLES: Record<Mode, NetworkSample> = {
  datacenter: { rttMs: 0.2, bandwidthMbps: 20_000, lossRatio: 0 },
  hybrid: { rttMs: 25, bandwidthMbps: 5_000, lossRatio: 0 },
  internet: { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 },
};
/**
 * One round, from datacenter: every mode change that changes engines, each
 * forced once and detected once (raft → pbft: dc→in, hy→in; pbft → raft:
 * in→dc, in→hy).
 */
const ROUND: readonly { kind: "forced" | "detected"; to: Mode }[] = [
  { kind: "detected", to: "internet" },
  { kind: "forced", to: "hybrid" },
  { kind: "forced", to: "internet" },
  { kind: "detected", to: "datacenter" },
  { kind: "forced", to: "internet" },
  { kind: "detected", to: "hybrid" },
  { kind: "detected", to: "internet" },
  { kind: "forced", to: "datacenter" },
];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The commands `client#sequence`, applied: per client the highest sequence
 * applied, a hash chained over every command in the order applied, and
 * every command that did not come right after its client's previous one
 * (a loss, a duplicate or a reordering). Small, so snapshots and handovers
 * stay cheap; the checks live in the state, so a replica brought up to
 * date by a state transfer carries them too.
 */
class ClientLog implements ConsensusStateMachine<number> {
  last: Record<string, number> = {};
  chain = 0x811c9dc5;
  count = 0;
  violations: string[] = [];

  apply(command: Uint8Array): number {
    const [client, sequenceText] = decoder.decode(command).split("#");
    const sequence = Number(sequenceText);
    const last = this.last[client] ?? 0;
    if (sequence !== last + 1 && this.violations.length < 20) {
      this.violations.push(`${client}: command ${sequence} applied after ${last}`);
    }
    this.last[client] = Math.max(last, sequence);
    for (const byte of command) this.chain = Math.imul(this.chain ^ byte, 0x01000193) >>> 0;
    this.count++;
    return sequence;
  }

  snapshot(): Uint8Array {
    return encoder.encode(this.state());
  }

  restore(snapshot: Uint8Array): void {
    Object.assign(this, JSON.parse(decoder.decode(snapshot)));
  }

  /** The whole state, as JSON. */
  state(): string {
    return JSON.stringify({ last: this.last, chain: this.chain, count: this.count, violations: this.violations });
  }
}

/** Proposes at any replica, following NOT_LEADER hints and retrying the same identity through switches. */
async function propose(
  cluster: AdaptiveTestCluster<number>,
  clientId: string,
  sequence: number,
): Promise<Committed<number>> {
  const deadline = Date.now() + 30_000;
  let target = sequence % cluster.ids.length;
  for (;;) {
    try {
      return await cluster.replicas[target]!.propose(encoder.encode(`${clientId}#${sequence}`), {
        clientId,
        sequence,
        timeoutMs: 2_000,
      });
    } catch (error) {
      const { code, leaderHint } = error as { code?: string; leaderHint?: string | null };
      if (!["NOT_LEADER", "CONSENSUS_TIMEOUT", "PROPOSAL_DROPPED"].includes(code ?? "") || Date.now() > deadline) {
        throw error;
      }
      target = code === "NOT_LEADER" && leaderHint
        ? cluster.ids.indexOf(leaderHint)
        : (target + 1) % cluster.ids.length;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

Deno.test({
  name:
    "switching under load: Raft ⇄ PBFT switches, forced and detected in every direction, while 8 clients propose numbered commands; every acknowledged command applied once, in order, on every replica",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const startedMs = Date.now();
    let measured = SAMPLES.datacenter;
    const machines = Array.from({ length: 4 }, () => new ClientLog());
    const cluster = await startAdaptiveCluster(machines, { measure: () => measured });
    const replicas = () => cluster.replicas.map((replica) => replica!);
    const switchedEvents = replicas().map(() => [] as string[]);
    replicas().forEach((replica, i) =>
      replica.subscribe((event) => {
        if (event.type === "switched") switchedEvents[i].push(`${event.switch.toEpoch}:${event.switch.to}`);
      })
    );
    const state = () =>
      replicas().map((replica) => ({
        epoch: replica.epoch,
        engine: replica.adaptiveStats().engine,
        agreed: replica.agreed,
        healthy: replica.stats().healthy,
      }));
    const onEpoch = (epoch: number, engine: string) =>
      replicas().every((replica) =>
        replica.epoch === epoch && replica.adaptiveStats().engine === engine && replica.stats().healthy
      );
    const agreedOn = (mode: Mode) =>
      replicas().every((replica) => replica.agreed.mode === mode && !replica.agreed.forced);
    const reportsShow = (sample: NetworkSample) =>
      replicas().every((replica) => {
        const reports = Object.values(replica.adaptiveStats().tally.reports);
        return reports.length === 4 && reports.every((report) => report.summary.rttMs === sample.rttMs);
      });
    const force = async (indices: number[], mode: Mode | null) => {
      await Promise.all(indices.map(async (index) => {
        for (let attempt = 0;; attempt++) {
          try {
            return await replicas()[index].force(mode, mode ? `hold ${mode}` : "release", { timeoutMs: 2_000 });
          } catch (error) {
            if (attempt >= 10) throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      }));
    };

    const acked = Array.from({ length: CLIENTS }, () => 0);
    let acks = 0;
    const failures: string[] = [];
    let stopping = false;
    let clients: Promise<void>[] = [];
    try {
      await until(() => onEpoch(0, "raft"), "a Raft leader in epoch 0", 20_000, state);
      clients = Array.from({ length: CLIENTS }, async (_, client) => {
        const clientId = `client-${client}`;
        for (let sequence = 1; !stopping; sequence++) {
          try {
            const committed = await propose(cluster, clientId, sequence);
            if (committed.result !== sequence) failures.push(`${clientId} ${sequence}: result ${committed.result}`);
            acked[client] = sequence;
            acks++;
          } catch (error) {
            failures.push(`${clientId} ${sequence}: ${(error as Error).message}`);
            return;
          }
        }
      });
      const fail = () => {
        if (failures.length > 0) throw new Error(`a client failed: ${failures[0]}`);
      };
      await until(() => (fail(), acks >= CLIENTS * 5), "commands flow before the first switch");

      const done: { kind: string; from: Mode; to: Mode; engine: string }[] = [];
      let epoch = 0;
      let mode: Mode = "datacenter";
      const switchingMs = Date.now();
      while (
        done.length < MAX_ENGINE_SWITCHES && (done.length === 0 || Date.now() - switchingMs < ENGINE_BUDGET_MS)
      ) {
        for (const { kind, to } of ROUND) {
          const engine = to === "internet" ? "pbft" : "raft";
          const pair = [done.length % 4, (done.length + 1) % 4];
          if (kind === "detected") measured = SAMPLES[to];
          else await force(pair, to);
          const what = `switch ${done.length} (${kind} ${mode} → ${to}): every replica on ${engine} in epoch ${
            epoch + 1
          }`;
          await until(() => (fail(), onEpoch(epoch + 1, engine)), what, 20_000, state);
          epoch++;
          if (kind === "forced") {
            // Measurements follow the hold, then its members release it: the cluster stays, unforced.
            measured = SAMPLES[to];
            await until(() => reportsShow(measured), `reports of ${to} after switch ${done.length}`, 20_000, state);
            await force(pair, null);
          }
          await until(() => agreedOn(to), `${to} agreed unforced after switch ${done.length}`, 20_000, state);
          const before = acks;
          await until(() => (fail(), acks >= before + CLIENTS), `commands acknowledged in epoch ${epoch}`);
          done.push({ kind, from: mode, to, engine });
          mode = to;
        }
      }
      const switchingSeconds = (Date.now() - switchingMs) / 1000;

      stopping = true;
      await Promise.all(clients);
      assert.deepEqual(failures, []);
      // Every acknowledged command applied exactly once, per client in order, on every replica; replicas agree.
      await until(
        () => machines.every((machine) => acked.every((last, client) => machine.last[`client-${client}`] === last)),
        "every replica applied every acknowledged command",
        20_000,
        () => ({ acked, replicas: machines.map((machine) => machine.last) }),
      );
      for (const [i, machine] of machines.entries()) {
        assert.deepEqual(machine.violations, [], `replica n${i + 1}: commands out of sequence`);
        assert.equal(machine.state(), machines[0].state(), `replica n${i + 1} agrees with n1`);
      }
      assert.equal(machines[0].count, acks, "as many commands applied as acknowledged");

      // The switches: every one made by every replica, all directions, forced and detected.
      assert.equal(epoch, done.length);
      const expected = done.map((step, i) => `${i + 1}:${step.engine}`);
      for (const [i, replica] of replicas().entries()) {
        assert.equal(replica.epoch, done.length, `replica n${i + 1}'s epoch`);
        assert.deepEqual(switchedEvents[i], expected, `replica n${i + 1}'s switches`);
      }
      const kinds = new Set(done.map((step) => `${step.from}→${step.to} ${step.kind}`));
      assert.equal(kinds.size, 8, `every engine-changing direction, forced and detected: ${[...kinds]}`);
      console.log(
        `  ${done.length} engine switches (${done.filter((step) => step.kind === "forced").length} forced) ` +
          `in ${switchingSeconds.toFixed(1)} s, ${acks} commands from ${CLIENTS} clients, ` +
          `${((Date.now() - startedMs) / 1000).toFixed(1)} s in all`,
      );
    } finally {
      stopping = true;
      await Promise.allSettled(clients);
      await cluster.close();
    }
  },
});
