import assert from "node:assert/strict";
import {
  CONSENSUS,
  fromManifest,
  type HybridManager,
  ManualClock,
  modeAgreementOf,
  type NetworkSample,
  silentLogger,
} from "../../mod.ts";
import { instantiate, RecordingMachine } from "../../testing/mod.ts";
import adaptivePlugin from "../../plugins/consensus-adaptive/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { KvStore } from "../../runtime/kv/mod.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import type { AdaptiveConsensus } from "../../plugins/consensus-adaptive/mod.ts";
import { MemoryHost } from "../support/memory_host.ts";
import { testIdentities, testReplicaSecret } from "../support/pbft_consensus_cluster.ts";
import { adaptiveManifest, until } from "../support/adaptive_managers.ts";

const IDS = ["n1", "n2", "n3", "n4"];

Deno.test({
  name:
    "consensus-adaptive from a manifest: four managers' own measurements move the cluster from Raft to PBFT, agreed, with the store still writable",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const identities = await testIdentities(IDS);
    const managers: HybridManager[] = [];
    const stores: KvStore[] = [];
    try {
      for (const id of IDS) {
        const host = new MemoryHost();
        // A rack for the first three seconds (the stores are up by then), then a WAN.
        host.write("m.json", JSON.stringify(adaptiveManifest(id, { network: "adaptive-manifest", identities })));
        const manager = await fromManifest("m.json", {
          host,
          builtins: BUILTIN_PLUGINS,
          logger: silentLogger,
          nodeId: id,
          config: { detectionIntervalMs: 100, sampleWindow: 1, cooldownMs: 0 },
        });
        managers.push(manager);
        assert.equal(manager.getStats().unavailableModes.internet, undefined, "one plugin serves every mode");
      }
      for (const manager of managers) await manager.start();
      for (const manager of managers) stores.push(new KvStore(manager.getComponent(CONSENSUS)));
      await Promise.all(stores.map((store) => store.start()));
      const engines = stores.map((store) => store.consensus as unknown as AdaptiveConsensus<unknown>);
      assert.equal(engines[0].name, "adaptive");
      await until(() => engines.some((engine) => engine.stats().role === "leader"), "a Raft leader");
      const leader = stores[engines.findIndex((engine) => engine.stats().role === "leader")];
      await leader.put("color", "green");

      // The probes turn to a WAN; every manager's medians say so; the cluster agrees and moves to PBFT.
      await until(
        () => engines.every((engine) => engine.epoch === 1 && engine.adaptiveStats().engine === "pbft"),
        "every replica on PBFT",
      );
      const stats = engines[0].adaptiveStats();
      assert.equal(stats.agreed.mode, "internet");
      assert.match(stats.agreed.reason, /./);
      // Decided on the members' reports of their managers' medians: the robust RTT is the WAN's side of the threshold.
      assert.ok((stats.agreed.summary.rttMs ?? 0) > 50, JSON.stringify(stats.agreed));
      assert.ok(Object.values(stats.tally.reports).some((report) => report.summary.rttMs === 120));
      await until(() => engines.every((engine) => engine.stats().healthy), "a healthy PBFT epoch");
      // The manager sees the cluster's agreement: in its stats, and as a step of its own switch to internet.
      await until(() => managers.every((manager) => manager.currentMode === "internet"), "every manager in internet");
      const managerStats = managers[0].getStats();
      assert.equal(managerStats.agreement?.agreed.mode, "internet");
      assert.equal(managerStats.agreement?.engine, "pbft");
      // The switch record is written once its agreement step ended (agreed, or pending after agreementTimeoutMs).
      const toInternet = () => managers[0].getStats().history.filter((record) => record.to === "internet").at(-1);
      await until(() => toInternet()?.agreement !== undefined, "the switch to internet to record its agreement step");
      assert.equal(toInternet()!.agreement!.clusterMode, "internet");
      await stores[2].put("color", "blue");
      assert.equal(await stores[0].get("color"), "blue");
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      for (const manager of managers) await manager.close();
    }
  },
});

Deno.test({
  name:
    "consensus-adaptive as a plugin reports the manager's medians only once its window can be full (sampleWindow × detectionIntervalMs)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, seed: 3 });
    const identities = await testIdentities(["solo"]);
    const engine = await instantiate(adaptivePlugin, {
      nodeId: "solo",
      peers: { solo: "adaptive-window-solo" },
      identities,
      secret: Array.from(testReplicaSecret("solo"), (byte) => byte.toString(16).padStart(2, "0")).join(""),
      tickMs: 5,
      reportEveryMs: 50,
    }, {
      clock,
      config: { detectionIntervalMs: 100, sampleWindow: 5 },
      network: { rttMs: 120, bandwidthMbps: 40, lossRatio: 0 },
      provided: { transport: network.transport("adaptive-window-solo") },
    });
    const replica = engine.create(new RecordingMachine()) as AdaptiveConsensus<unknown>;
    await replica.start();
    try {
      const reported = () => replica.adaptiveStats().tally.reports.solo !== undefined;
      for (let elapsed = 0; elapsed < 450; elapsed += 10) await clock.advance(10);
      assert.equal(reported(), false, "no report from a window not yet full");
      for (let elapsed = 0; elapsed < 300 && !reported(); elapsed += 10) await clock.advance(10);
      assert.equal(replica.adaptiveStats().tally.reports.solo?.summary.rttMs, 120);
    } finally {
      await replica.close();
    }
  },
});

Deno.test({
  name:
    "consensus-adaptive as a plugin reports only medians of every measure: a member that could not measure its RTT does not vote",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const clock = new ManualClock();
    const network = new MemoryNetwork({ clock, seed: 4 });
    const identities = await testIdentities(["solo"]);
    // What the manager measured: bandwidth and loss, the RTT probe not answered yet (as at a cluster's start).
    const measured: NetworkSample = { bandwidthMbps: 400, lossRatio: 0 };
    const engine = await instantiate(adaptivePlugin, {
      nodeId: "solo",
      peers: { solo: "adaptive-partial-solo" },
      identities,
      secret: Array.from(testReplicaSecret("solo"), (byte) => byte.toString(16).padStart(2, "0")).join(""),
      tickMs: 5,
      reportEveryMs: 50,
    }, {
      clock,
      config: { detectionIntervalMs: 100, sampleWindow: 1 },
      network: measured,
      provided: { transport: network.transport("adaptive-partial-solo") },
    });
    const replica = engine.create(new RecordingMachine()) as AdaptiveConsensus<unknown>;
    await replica.start();
    try {
      const reported = () => replica.adaptiveStats().tally.reports.solo !== undefined;
      for (let elapsed = 0; elapsed < 500; elapsed += 10) await clock.advance(10);
      assert.equal(reported(), false, "medians without an RTT are not reported");
      // Nor when the manager reports them at a switch of its own (through the engine's agreement).
      assert.equal(await modeAgreementOf(engine)!.report({ bandwidthMbps: 400, lossRatio: 0 }), "not reported");
      for (let elapsed = 0; elapsed < 100; elapsed += 10) await clock.advance(10);
      assert.equal(reported(), false, "the manager's partial medians are not reported either");
      assert.equal(replica.adaptiveStats().tally.agreed.mode, "datacenter", "and decide nothing");
      measured.rttMs = 0.4;
      for (let elapsed = 0; elapsed < 300 && !reported(); elapsed += 10) await clock.advance(10);
      assert.equal(replica.adaptiveStats().tally.reports.solo?.summary.rttMs, 0.4);
    } finally {
      await replica.close();
    }
  },
});
