import assert from "node:assert/strict";
import { HybridManager, ManualClock, silentLogger, SystemClock, type TransportConnection } from "../../mod.ts";
import { probeCompliance, runCompliance } from "../../testing/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import rttPlugin, { rttProbe } from "../../plugins/probe-rtt/mod.ts";
import { validateStandard } from "../../core/util/standard_schema.ts";
import { sleep } from "../../core/util/clock.ts";
import type { Transport } from "../../core/contracts/transport.ts";
import { wrapConnection, wrapTransport } from "../support/wrapped_transport.ts";
import { bandwidthProbe } from "../../plugins/probe-bandwidth/mod.ts";
import { serveProbes } from "../../plugins/probes/responder.ts";
import { peersForQuorum, quorumValue } from "../../plugins/probes/peers.ts";
import { stepUntilSettled } from "../../testing/advance.ts";

const RTT = { name: "rtt", pings: 5, pingTimeoutMs: 1_000 };
const BANDWIDTH = {
  name: "bandwidth",
  budgetBytes: 1024 * 1024,
  chunkBytes: 64 * 1024,
  timeoutMs: 4_000,
  filterWindow: 3,
};

/** Runs `work` while advancing `clock`, timer by timer, until it settles. */
function settle<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  const toNextTimer = () => clock.advance(Math.max(0, (clock.nextDueMs() ?? clock.now()) - clock.now()));
  return stepUntilSettled(toNextTimer, work, 100_000, "did not settle within 100,000 timers");
}

Deno.test("quorum: the value at the majority's edge, not the best link", () => {
  assert.deepEqual([1, 2, 3, 4, 6].map(peersForQuorum), [1, 1, 2, 2, 3]);
  assert.equal(quorumValue([5, 1, 9, 3], "lower"), 3, "4 peers + this node: 2 peers needed");
  assert.equal(quorumValue([5, 1], "lower"), 1, "2 peers + this node: 1 peer needed");
  assert.equal(quorumValue([100, 900, 10, 1_000], "higher"), 900);
  assert.equal(quorumValue([], "lower"), undefined);
});

for (
  const [label, delayMs, bandwidthMbps] of [["LAN", 0.25, 10_000], ["WAN", 40, 100], ["metro", 10, 1_000]] as const
) {
  Deno.test(`probes over the emulated ${label} link measure RTT within 10 % (or 1 ms) and bandwidth within 15 %`, async () => {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, seed: 4 });
    network.setLink("a", "b", { delayMs, bandwidthMbps });
    const responder = await serveProbes(network.transport("b"), "b");
    const transport = network.transport("a");
    const rtt = rttProbe(transport, clock, { ...RTT, peers: ["b"] });
    const bandwidth = bandwidthProbe(transport, clock, { ...BANDWIDTH, peers: ["b"] });
    const rttSample = await settle(clock, rtt.measure());
    const expectedRtt = 2 * delayMs;
    assert.ok(
      Math.abs(rttSample.rttMs! - expectedRtt) <= Math.max(0.1 * expectedRtt, 1),
      `RTT ${rttSample.rttMs} vs ${expectedRtt}`,
    );
    assert.equal(rttSample.lossRatio, 0);
    const bandwidthSample = await settle(clock, bandwidth.measure());
    const error = Math.abs(bandwidthSample.bandwidthMbps! - bandwidthMbps) / bandwidthMbps;
    assert.ok(
      error <= 0.15,
      `bandwidth ${bandwidthSample.bandwidthMbps} vs ${bandwidthMbps} (${(error * 100).toFixed(1)} % off)`,
    );
    assert.equal(rtt.peers().b.error, undefined);
    // A graceful close crosses the delayed link too: let manual time pass for it.
    await settle(clock, Promise.all([rtt.close(), bandwidth.close(), responder.close()]));
  });
}

/** A transport whose accepted connections hold each reply back by the next of `noiseMs` (a descheduled responder). */
function noisyResponder(inner: Transport, clock: ManualClock, noiseMs: number[]): Transport {
  return wrapTransport(inner, {
    accepted: (connection) =>
      wrapConnection(connection, {
        send: async (frame) => {
          await sleep(clock, noiseMs.shift() ?? 0);
          return connection.send(frame);
        },
      }),
  });
}

Deno.test("probe-rtt: scheduling noise on most pings leaves the RTT at the path's own (a minimum, like BBR's RTprop)", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 5 });
  network.setLink("a", "b", { delayMs: 10 });
  // Five of seven replies are held up by 7-15 ms: their median is 29 ms, the path's round trip 20 ms.
  const responder = await serveProbes(noisyResponder(network.transport("b"), clock, [12, 0, 9, 15, 7, 0, 11]), "b");
  const rtt = rttProbe(network.transport("a"), clock, { ...RTT, pings: 7, peers: ["b"] });
  const sample = await settle(clock, rtt.measure());
  assert.ok(Math.abs(sample.rttMs! - 20) <= 0.5, `RTT ${sample.rttMs} vs 20`);
  await settle(clock, Promise.all([rtt.close(), responder.close()]));
});

Deno.test("probe-rtt: filterWindow keeps the minimum of recent measurements, so one noisy round does not show", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 5 });
  network.setLink("a", "b", { delayMs: 10 });
  // Round one clean, round two noisy on every ping, round three clean again.
  const noise = [0, 0, 0, 8, 9, 10, 0, 0, 0];
  const responder = await serveProbes(noisyResponder(network.transport("b"), clock, noise), "b");
  const windowed = rttProbe(network.transport("a"), clock, { ...RTT, pings: 3, filterWindow: 2, peers: ["b"] });
  const rounds: number[] = [];
  for (let round = 0; round < 3; round++) rounds.push((await settle(clock, windowed.measure())).rttMs!);
  assert.deepEqual(rounds.map(Math.round), [20, 20, 20]);
  // Without a window, the noisy round reads its own minimum.
  noise.push(0, 0, 0, 8, 9, 10);
  const single = rttProbe(network.transport("a"), clock, { ...RTT, pings: 3, peers: ["b"] });
  const unfiltered = [(await settle(clock, single.measure())).rttMs!, (await settle(clock, single.measure())).rttMs!];
  assert.deepEqual(unfiltered.map(Math.round), [20, 28]);
  await settle(clock, Promise.all([windowed.close(), single.close(), responder.close()]));
});

Deno.test("probe-rtt: filterWindow is validated, naming the field, and defaults to one measurement", async () => {
  for (const filterWindow of [0, 1.5, 101]) {
    const result = await validateStandard(rttPlugin.options!, { peers: ["b"], filterWindow }, "options");
    assert.equal(result.ok, false);
    assert.deepEqual(!result.ok && result.issues.map((issue) => issue.path), ["options.filterWindow"]);
  }
  const defaults = await validateStandard(rttPlugin.options!, { peers: ["b"] }, "options");
  assert.equal(defaults.ok && defaults.value.filterWindow, 1);
});

Deno.test("probes: an unreachable peer says nothing of the link: left out, not loss; below a quorum, no sample", async () => {
  const clock = new SystemClock();
  const network = new MemoryNetwork({ clock, seed: 2 });
  const responder = await serveProbes(network.transport("up"), "up");
  const probe = rttProbe(network.transport("me"), clock, { ...RTT, peers: ["up", "down"] });
  const sample = await probe.measure();
  assert.equal(sample.lossRatio, 0, "1 of 2 peers is enough for a quorum of 3 nodes");
  assert.equal(sample.rttMs !== undefined, true);
  assert.match(probe.peers().down.error ?? "", /nothing listens at down/);
  assert.equal(probe.peers().down.unreachable, true);
  assert.equal(probe.peers().down.lossRatio, undefined, "a peer that is down is not a lossy link");
  await probe.close();
  // Two of three peers down (a cluster still starting): no quorum to speak of, so no sample at all.
  const starting = rttProbe(network.transport("me-2"), clock, { ...RTT, peers: ["up", "down", "down-too"] });
  await assert.rejects(starting.measure(), /fewer than a quorum of peers reachable \(1 of 3\)/);
  const bandwidth = bandwidthProbe(network.transport("me-3"), clock, {
    ...BANDWIDTH,
    peers: ["up", "down", "down-too"],
  });
  await assert.rejects(bandwidth.measure(), /fewer than a quorum of peers reachable/);
  await starting.close();
  await bandwidth.close();
  await responder.close();
});

{
  const clock = new SystemClock();
  const network = new MemoryNetwork({ clock, seed: 6 });
  const responder = serveProbes(network.transport("peer"), "peer");
  runCompliance(
    "probe-rtt",
    probeCompliance(async () => {
      await responder;
      return rttProbe(network.transport("self"), clock, { ...RTT, peers: ["peer"] });
    }),
  );
  runCompliance(
    "probe-bandwidth",
    probeCompliance(async () => {
      await responder;
      return bandwidthProbe(network.transport("self"), clock, { ...BANDWIDTH, peers: ["peer"] });
    }),
  );
}

Deno.test("end to end: probes over an emulated link take a manager datacenter -> internet -> datacenter", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 8 });
  const peers = ["p1", "p2"];
  const responders = await Promise.all(peers.map((peer) => serveProbes(network.transport(peer), peer)));
  const setLinks = (delayMs: number, bandwidthMbps: number) => {
    for (const peer of peers) network.setLink("self", peer, { delayMs, bandwidthMbps });
  };
  setLinks(0.2, 20_000);
  const transport = network.transport("self");
  const rtt = rttProbe(transport, clock, { ...RTT, peers });
  const bandwidth = bandwidthProbe(transport, clock, { ...BANDWIDTH, budgetBytes: 256 * 1024, peers });
  const manager = new HybridManager({
    clock,
    logger: silentLogger,
    probes: [rtt, bandwidth],
    config: { detectionIntervalMs: 2_000, probeTimeoutMs: 1_500, sampleWindow: 3, cooldownMs: 4_000 },
  });
  const modes: string[] = [];
  manager.onModeChange(({ to }) => void modes.push(to));
  await manager.start();
  const run = (ms: number) => settle(clock, Promise.resolve()).then(() => clock.advance(ms));
  await run(6_500);
  assert.equal(manager.currentMode, "datacenter", JSON.stringify(manager.getStats().summary));
  setLinks(40, 50); // a WAN: 80 ms round trip, 50 Mbps
  await run(10_000);
  assert.equal(manager.currentMode, "internet", JSON.stringify(manager.getStats().summary));
  setLinks(0.2, 20_000);
  await run(12_000);
  assert.equal(manager.currentMode, "datacenter", JSON.stringify(manager.getStats().summary));
  assert.deepEqual(modes, ["datacenter", "internet", "datacenter"]);
  await manager.stop();
  await settle(clock, Promise.all([rtt.close(), bandwidth.close(), ...responders.map((r) => r.close())]));
});

Deno.test("probe-bandwidth passively: a backlogged application connection gives the link rate; app-limited traffic gives nothing", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 11 });
  network.setLink("a", "b", { delayMs: 5, bandwidthMbps: 50 });
  const listener = await network.transport("b").listen("b");
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const app = await network.transport("a").dial("b");
  const server = (await accepted).value as TransportConnection;
  (async () => {
    for await (const _ of server.frames()) { /* the receiver keeps up */ }
  })();
  const probe = bandwidthProbe(network.transport("a"), clock, { ...BANDWIDTH, active: false, peers: ["b"] });
  assert.throws(() => probe.observe(app, "elsewhere"), /not one of this probe's peers/);
  probe.observe(app, "b");

  // App-limited: a small frame now and then never leaves a backlog, so it says nothing of the link.
  for (let i = 0; i < 5; i++) {
    await app.send(new Uint8Array(1_000));
    await clock.advance(200);
  }
  await assert.rejects(probe.measure(), /no passive sample yet/);

  // Backlogged: the application sends faster than the link carries.
  let sending = true;
  const sender = (async () => {
    while (sending) await app.send(new Uint8Array(256 * 1024));
  })();
  await clock.advance(200);
  await probe.measure().catch(() => {}); // the interval before the backlog began does not count
  await clock.advance(2_000);
  const sample = await probe.measure();
  const error = Math.abs(sample.bandwidthMbps! - 50) / 50;
  assert.ok(error <= 0.15, `passive estimate ${sample.bandwidthMbps} vs 50 Mbps`);
  sending = false;
  await settle(clock, Promise.race([sender, Promise.resolve()]));
  await settle(clock, Promise.all([app.close(), listener.close()]));
});

Deno.test("probes: a peer whose connection never comes is unreachable after the probe's timeout, not a stalled round", async () => {
  const clock = new SystemClock();
  const network = new MemoryNetwork({ clock, seed: 7 });
  const responders = await Promise.all(["a", "b"].map((peer) => serveProbes(network.transport(peer), peer)));
  const real = network.transport("me-hang");
  // Connection attempts to "silent" go unanswered (dropped SYNs across hosts): the dial never settles.
  const transport: Transport = { ...real, dial: (peer) => peer === "silent" ? new Promise(() => {}) : real.dial(peer) };
  const rtt = rttProbe(transport, clock, { ...RTT, pingTimeoutMs: 100, peers: ["a", "b", "silent"] });
  const bandwidth = bandwidthProbe(transport, clock, { ...BANDWIDTH, timeoutMs: 300, peers: ["a", "b", "silent"] });
  const startedMs = Date.now();
  const [rttSample, bandwidthSample] = await Promise.all([rtt.measure(), bandwidth.measure()]);
  assert.ok(Date.now() - startedMs < 2_000, "the round did not wait for the silent peer's dial");
  assert.equal(rttSample.lossRatio, 0, "the silent peer is left out, not counted as loss");
  assert.ok((bandwidthSample.bandwidthMbps ?? 0) > 0);
  assert.match(rtt.peers().silent.error ?? "", /no connection to silent within 100 ms/);
  assert.equal(bandwidth.peers().silent.unreachable, true);
  await rtt.close();
  await bandwidth.close();
  await Promise.all(responders.map((responder) => responder.close()));
});
