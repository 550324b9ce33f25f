// The cluster view: the probes' per-peer results in the manager's stats, and `GET /cluster` (the dashboard's Cluster
// panel and timeline) over an agreement the test sets (tests/support/fake_agreement.ts), on a manual clock. The same
// route over a real adaptive cluster is in admin_cluster_adaptive_test.ts; the page itself in tests/e2e/dashboard_test.ts.
import assert from "node:assert/strict";
import * as v from "valibot";
import { HybridManager, type LogFields, ManualClock, silentLogger } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import admin from "../../plugins/admin-http/mod.ts";
import { adminClient, type ClusterEvent } from "../../plugins/admin-http/client.ts";
import { ClusterBody, StatsBody } from "../../plugins/admin-http/schemas.ts";
import { FakeAgreement, PeerProbe } from "../support/fake_agreement.ts";
import { LINKS, ScriptedProbe } from "../support/scripted_probe.ts";
import { TOKEN } from "../support/admin_node.ts";

const HTML_REASON = `forced: <img src=x onerror="alert(1)"> & <b>"maintenance"</b>`;

/** A started manager with a datacenter link, one per-peer probe, `agreement` (if any) as a component, and its endpoint. */
async function clusterNode(agreement?: (clock: ManualClock) => FakeAgreement, options: Record<string, unknown> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const warnings: [string, LogFields | undefined][] = [];
  const perPeer = new PeerProbe("rtt", { rttMs: 0.4, lossRatio: 0 });
  const manager = new HybridManager({
    clock,
    nodeId: "n1",
    logger: { ...silentLogger, warn: (message, fields) => warnings.push([message, fields]) },
    probes: [new ScriptedProbe("link", LINKS.datacenter), perPeer],
    config: { detectionIntervalMs: 1_000, sampleWindow: 1, cooldownMs: 0 },
  });
  const fake = agreement?.(clock);
  if (fake) manager.registerComponent("consensus", fake, fake);
  const server = await instantiate(admin, { port: 0, token: TOKEN, heartbeatMs: 60_000, ...options }, {
    host: manager,
    clock,
  });
  await manager.start();
  await clock.advance(0);
  const client = adminClient(server.url, TOKEN);
  return {
    clock,
    manager,
    perPeer,
    fake,
    warnings,
    client,
    /** `GET /cluster`, checked against the response schema. */
    cluster: async () => v.parse(ClusterBody, await client.cluster()),
    close: async () => {
      await server.close();
      await manager.stop();
    },
  };
}

Deno.test("manager: a probe's peers() fills getStats().probes[].peers after each round, checked and bounded", async () => {
  const node = await clusterNode();
  try {
    const { perPeer, manager, clock } = node;
    assert.deepEqual(manager.getStats().probes.find((p) => p.name === "rtt")?.peers, {});
    assert.equal(manager.getStats().probes.find((p) => p.name === "link")?.peers, undefined, "no peers(): no section");
    perPeer.results = {
      "probe-n2": { rttMs: 0.4, lossRatio: 0, samplesMbps: [1, 2] },
      "probe-n3": { rttMs: -1, bandwidthMbps: 900, lossRatio: 2, error: "x".repeat(2_000) },
      "": { rttMs: 1 },
      ["__proto__"]: { rttMs: 3 },
      "probe-n4": "not an object",
    };
    await clock.advance(1_000);
    const peers = manager.getStats().probes.find((p) => p.name === "rtt")!.peers!;
    assert.deepEqual(Object.keys(peers).sort(), ["__proto__", "probe-n2", "probe-n3"]);
    assert.deepEqual(peers["probe-n2"], { rttMs: 0.4, lossRatio: 0 }, "only the measures; other fields dropped");
    assert.equal(peers["probe-n3"].rttMs, undefined, "a negative RTT is dropped");
    assert.equal(peers["probe-n3"].lossRatio, undefined, "a loss ratio above 1 is dropped");
    assert.equal(peers["probe-n3"].bandwidthMbps, 900);
    assert.ok(peers["probe-n3"].error!.length <= 501, "the error is cut");
    assert.equal(Object.getPrototypeOf(peers), Object.prototype, "a peer named __proto__ stays a peer");
    assert.deepEqual(Object.getOwnPropertyDescriptor(peers, "__proto__")?.value, { rttMs: 3 });
    assert.ok(node.warnings.some(([message, fields]) => /invalid entries/.test(message) && fields?.dropped === 4));
    // The snapshot is a copy: changing it changes nothing inside.
    peers["probe-n2"].rttMs = 99;
    assert.equal(manager.getStats().probes.find((p) => p.name === "rtt")!.peers!["probe-n2"].rttMs, 0.4);
    // A valid stats body, as GET /stats sends it.
    v.parse(StatsBody, JSON.parse(JSON.stringify(manager.getStats())));

    perPeer.results = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`peer-${i}`, { rttMs: i }]));
    await clock.advance(1_000);
    assert.equal(Object.keys(manager.getStats().probes.find((p) => p.name === "rtt")!.peers!).length, 256);

    perPeer.results = new Error("peers() broke");
    await clock.advance(1_000);
    assert.equal(manager.getStats().probes.find((p) => p.name === "rtt")!.peers, undefined, "stale results dropped");
    assert.ok(
      node.warnings.some(([message, fields]) => /peers\(\) failed/.test(message) && fields?.error === "peers() broke"),
    );
    assert.equal(manager.getStats().probeErrors, 0, "the round itself succeeded");
  } finally {
    await node.close();
  }
});

Deno.test("admin: GET /cluster on a node without an agreement: agreement null, no events, its per-peer results", async () => {
  const node = await clusterNode();
  try {
    node.perPeer.results = { "probe-n2": { rttMs: 0.4, lossRatio: 0 }, "probe-n3": { error: "nothing listens" } };
    await node.clock.advance(1_000);
    const view = await node.cluster();
    assert.equal(view.nodeId, "n1");
    assert.equal(view.nowMs, node.clock.now());
    assert.equal(view.agreement, null);
    assert.deepEqual(view.events, []);
    assert.deepEqual(view.probes, [{
      name: "rtt",
      peers: { "probe-n2": { rttMs: 0.4, lossRatio: 0 }, "probe-n3": { error: "nothing listens" } },
    }]);
  } finally {
    await node.close();
  }
});

Deno.test("admin: GET /cluster records the agreement's reports, forces, decisions, engine changes and steps as seen", async () => {
  const node = await clusterNode((clock) => new FakeAgreement("n1", clock), { recentClusterEvents: 50 });
  try {
    const { clock, fake, manager } = node;
    const kinds = (events: ClusterEvent[]) => events.map((e) => e.kind + ("member" in e ? ":" + e.member : ""));
    let view = await node.cluster();
    assert.equal(view.agreement?.engine, "raft");
    // The first look (when the endpoint started): the agreed mode and the engine as first seen. Then the node's
    // first round switched it from its initial hybrid to datacenter: it reported its medians (a proposal) and the
    // switch's agreement step ended agreed, the cluster being in datacenter.
    assert.deepEqual(view.events.map((e) => ({ ...e, atMs: 0 })), [
      { kind: "decision", atMs: 0, mode: "datacenter", from: null, reason: "initial mode", index: 0, forced: false },
      { kind: "engine", atMs: 0, engine: "raft", epoch: 0, from: null },
      { kind: "report", atMs: 0, member: "n1", reportedAtMs: clock.now(), summary: LINKS.datacenter },
      { kind: "step", atMs: 0, switchId: 1, wanted: "datacenter", clusterMode: "datacenter", status: "agreed" },
    ]);
    let seen = view.events.length;
    const news = async () => {
      view = await node.cluster();
      const fresh = view.events.slice(seen);
      seen = view.events.length;
      return fresh;
    };

    // Reports: each with new measures once, seen at the next round (or request), at this node's time.
    fake!.setReport("n2", clock.now() - 300, { rttMs: 0.5, bandwidthMbps: 10_000, lossRatio: 0 });
    fake!.setReport("n3", clock.now() - 200, { rttMs: 0.6 });
    await clock.advance(1_000);
    let fresh = await news();
    assert.deepEqual(kinds(fresh), ["report:n2", "report:n3"]);
    const n2 = fresh[0];
    assert.ok(n2.kind === "report");
    assert.equal(n2.atMs, clock.now());
    assert.equal(n2.reportedAtMs, clock.now() - 1_300);
    assert.deepEqual(n2.summary, { rttMs: 0.5, bandwidthMbps: 10_000, lossRatio: 0 });
    fake!.setReport("n2", clock.now(), { rttMs: 0.5, bandwidthMbps: 10_000, lossRatio: 0 });
    await clock.advance(1_000);
    assert.deepEqual(await news(), [], "a report with the same measures again is not recorded again");

    // Two members hold internet; the cluster agrees, held, with a reason full of HTML; the engine changes.
    fake!.state.holds = { n2: "internet", n3: "internet" };
    fake!.decide("internet", HTML_REASON, true);
    fake!.state.engine = "pbft";
    fake!.state.epoch = 1;
    fake!.setReport("n2", clock.now(), { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 });
    await clock.advance(1_000);
    fresh = await news();
    assert.deepEqual(kinds(fresh), ["report:n2", "force:n2", "force:n3", "decision", "engine"]);
    assert.deepEqual(fresh.slice(1).map((e) => ({ ...e, atMs: 0 })), [
      { kind: "force", atMs: 0, member: "n2", mode: "internet" },
      { kind: "force", atMs: 0, member: "n3", mode: "internet" },
      { kind: "decision", atMs: 0, mode: "internet", from: "datacenter", reason: HTML_REASON, index: 1, forced: true },
      { kind: "engine", atMs: 0, engine: "pbft", epoch: 1, from: "raft" },
    ]);
    assert.equal(view.agreement?.agreed.reason, HTML_REASON, "the text as the agreement gave it; the page escapes it");

    // Releases: a hold set to null, and one gone from the holds, are both a release.
    fake!.state.holds = { n2: null };
    await clock.advance(1_000);
    assert.deepEqual((await news()).map((e) => ({ ...e, atMs: 0 })), [
      { kind: "force", atMs: 0, member: "n2", mode: null },
      { kind: "force", atMs: 0, member: "n3", mode: null },
    ]);

    // This node's own forced switch: no medians to report; its agreement step ends agreed (the cluster is in internet).
    const outcome = await manager.forceMode("internet", "operator");
    assert.equal(outcome.status, "switched");
    assert.deepEqual((await news()).map((e) => ({ ...e, atMs: 0 })), [{
      kind: "step",
      atMs: 0,
      switchId: outcome.record!.id,
      wanted: "internet",
      clusterMode: "internet",
      status: "agreed",
    }]);

    // A long reason is cut.
    fake!.decide("hybrid", "y".repeat(5_000));
    await clock.advance(1_000);
    const last = (await node.cluster()).events.at(-1)!;
    assert.ok(last.kind === "decision" && last.reason.length < 600, JSON.stringify(last).slice(0, 200));
  } finally {
    await node.close();
  }
});

Deno.test("admin: GET /cluster keeps the last recentClusterEvents events, newest last", async () => {
  const node = await clusterNode((clock) => new FakeAgreement("n1", clock), { recentClusterEvents: 5 });
  try {
    for (let i = 1; i <= 10; i++) {
      node.fake!.setReport("n2", i, { rttMs: i });
      await node.clock.advance(1_000);
    }
    const events = (await node.cluster()).events;
    assert.equal(events.length, 5);
    assert.deepEqual(events.map((e) => e.kind === "report" ? e.reportedAtMs : -1), [6, 7, 8, 9, 10]);
  } finally {
    await node.close();
  }
});

Deno.test("admin, per-peer link modes: /cluster, /stats and /metrics show each link's mode and why", async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const perPeer = new PeerProbe("rtt", { rttMs: 0.4, lossRatio: 0 });
  perPeer.results = { "rack-n2": { rttMs: 0.4, lossRatio: 0 }, "wan-n3": { rttMs: 90, lossRatio: 0.02 } };
  const manager = new HybridManager({
    clock,
    nodeId: "n1",
    logger: silentLogger,
    probes: [perPeer],
    config: {
      detectionIntervalMs: 1_000,
      sampleWindow: 1,
      cooldownMs: 0,
      linkModes: "per-peer",
      initialMode: "datacenter",
    },
  });
  const server = await instantiate(admin, { port: 0, token: TOKEN, heartbeatMs: 60_000 }, { host: manager, clock });
  try {
    await manager.start();
    await clock.advance(0);
    const client = adminClient(server.url, TOKEN);
    const cluster = v.parse(ClusterBody, await client.cluster());
    assert.equal(cluster.links?.["wan-n3"].mode, "internet");
    assert.match(cluster.links!["wan-n3"].reason, /rttMs 90 > 55/);
    assert.equal(cluster.links?.["rack-n2"].mode, "hybrid", "no bandwidth measured: not datacenter");
    const stats = v.parse(StatsBody, await client.stats());
    assert.equal(stats.links?.["wan-n3"].changes, 1);
    const metrics = await client.metrics();
    assert.match(metrics, /^switchyard_link_mode\{peer="wan-n3",mode="internet"\} 1$/m);
    assert.match(metrics, /^switchyard_link_mode\{peer="wan-n3",mode="datacenter"\} 0$/m);
    assert.match(metrics, /^switchyard_link_mode_changes_total\{peer="wan-n3"\} 1$/m);
  } finally {
    await server.close();
    await manager.stop();
  }
});
