// The agreement step: when a registered component carries the cluster's mode agreement (the adaptive consensus
// engine does), a switch that changes the mode reports this node's medians to it and waits up to agreementTimeoutMs
// for the cluster's decision; the record, the event and the stats say how it ended. The node's own components
// switch either way.
import assert from "node:assert/strict";
import {
  type AgreementEvent,
  componentKey,
  HybridManager,
  ManualClock,
  type Mode,
  type ModeAgreement,
  modeAgreementOf,
  type ModeAgreementStats,
  type NetworkSample,
  silentLogger,
} from "../../mod.ts";

/** A cluster of one opinion: it agrees on `follow`'s answer a set time after each report. */
class FakeAgreement implements ModeAgreement {
  reports: NetworkSample[] = [];
  mode: Mode = "datacenter";
  constructor(
    readonly clock: ManualClock,
    readonly follow: (summary: NetworkSample) => Mode,
    readonly afterMs: number,
  ) {}
  report(summary: NetworkSample): Promise<void> {
    this.reports.push(summary);
    this.clock.setTimeout(() => this.mode = this.follow(summary), this.afterMs);
    return Promise.resolve();
  }
  agreementStats(): ModeAgreementStats {
    return {
      agreed: { mode: this.mode, reason: "fake", index: this.reports.length, forced: false, summary: {} },
      reports: {},
      holds: {},
      engine: this.mode === "internet" ? "pbft" : "raft",
      epoch: 0,
    };
  }
}

const WAN: NetworkSample = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };
const CONSENSUS_LIKE = componentKey<{ name: string; agreement: ModeAgreement }>("consensus");
const CODEC = componentKey<{ name: string }>("codec");

async function setup(agreement: (clock: ManualClock) => FakeAgreement) {
  const clock = new ManualClock();
  const manager = new HybridManager({
    clock,
    logger: silentLogger,
    nodeId: "n1",
    probes: [{ name: "wan", measure: () => Promise.resolve(WAN) }],
    config: { agreementTimeoutMs: 1_000, initialMode: "datacenter", sampleWindow: 1 },
  });
  const fake = agreement(clock);
  const engine = { name: "adaptive", agreement: fake };
  manager.registerComponent(CONSENSUS_LIKE, engine, engine);
  manager.registerComponent(CODEC, { name: "lz4" }, { name: "zstd" });
  await manager.initialize();
  const events: AgreementEvent[] = [];
  manager.on("agreement", (event) => events.push(event));
  return { clock, manager, fake, events };
}

Deno.test("agreement step: a switch reports the medians, waits for the cluster's decision and records it agreed", async () => {
  const { clock, manager, fake, events } = await setup((clock) => new FakeAgreement(clock, () => "internet", 300));
  const detecting = manager.detectNow(); // the probe measures a WAN
  for (let elapsed = 0; elapsed < 400; elapsed += 20) await clock.advance(20);
  const { outcome } = await detecting;
  assert.equal(outcome.status, "switched");
  assert.equal(outcome.record?.agreement?.status, "agreed");
  assert.equal(outcome.record?.agreement?.clusterMode, "internet");
  assert.ok(outcome.record!.agreement!.waitedMs >= 300 && outcome.record!.agreement!.waitedMs < 400);
  assert.deepEqual(fake.reports, [WAN], "this node's medians were reported once");
  assert.deepEqual(events.map((event) => [event.wanted, event.clusterMode, event.status]), [[
    "internet",
    "internet",
    "agreed",
  ]]);
  assert.equal(manager.getStats().agreement?.agreed.mode, "internet");
  assert.equal(manager.getStats().agreement?.engine, "pbft");
  assert.equal(manager.getComponent(CODEC).name, "zstd");
  await manager.close();
});

Deno.test("agreement step: a cluster that decides otherwise leaves the switch pending after agreementTimeoutMs; the node's own components switched", async () => {
  const { clock, manager, fake, events } = await setup((clock) => new FakeAgreement(clock, () => "datacenter", 10));
  const switching = manager.forceMode("internet", "maintenance");
  for (let elapsed = 0; elapsed <= 1_000; elapsed += 20) await clock.advance(20);
  const outcome = await switching;
  assert.equal(outcome.status, "switched");
  assert.equal(outcome.record?.agreement?.status, "pending");
  assert.equal(outcome.record?.agreement?.clusterMode, "datacenter");
  assert.ok(outcome.record!.agreement!.waitedMs >= 1_000);
  assert.equal(events[0].status, "pending");
  assert.deepEqual(fake.reports, [], "a forced switch has no medians to report");
  assert.equal(manager.getComponent(CODEC).name, "zstd", "local components follow the node");
  assert.equal(
    manager.getStats().agreement?.agreed.mode,
    "datacenter",
    "the cluster's decision is what the stats show",
  );
  await manager.close();
});

Deno.test("agreement: modeAgreementOf finds an agreement on a component or its agreement property, and nothing else", () => {
  const fake = new FakeAgreement(new ManualClock(), () => "internet", 0);
  assert.equal(modeAgreementOf(fake), fake);
  assert.equal(modeAgreementOf({ agreement: fake }), fake);
  for (const other of [undefined, null, 3, {}, { agreement: {} }, { report() {} }]) {
    assert.equal(modeAgreementOf(other), undefined, JSON.stringify(other));
  }
});

Deno.test("a forced mode asks the cluster for a hold; resuming (always), or the hold expiring, releases it", async () => {
  const { clock, manager, fake } = await setup((clock) => new FakeAgreement(clock, () => "internet", 10));
  const holds: [Mode | null, string][] = [];
  (fake as FakeAgreement & { force: ModeAgreement["force"] }).force = (mode, reason) => {
    holds.push([mode, reason]);
    return Promise.resolve();
  };
  // Each switch's agreement step may wait its agreementTimeoutMs (1 s) out: the cluster here follows the WAN.
  const settled = async <T>(work: Promise<T>) => {
    for (let elapsed = 0; elapsed < 1_200; elapsed += 20) await clock.advance(20);
    return await work;
  };
  await settled(manager.forceMode("internet", "maintenance"));
  manager.resumeAutoDetection();
  manager.resumeAutoDetection(); // nothing held here any more; the cluster is told again (idempotent)
  await settled(manager.forceMode("hybrid", "a short hold", { holdMs: 500 }));
  await settled(manager.detectNow()); // the hold has expired by now
  assert.deepEqual(holds, [
    ["internet", "maintenance"],
    [null, "hold released"],
    [null, "hold released"],
    ["hybrid", "a short hold"],
    [null, "hold expired"],
  ]);
  await manager.close();
});
