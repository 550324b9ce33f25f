// `GET /cluster` on a node of a real adaptive cluster (four managers from manifests, consensus-adaptive, probe-rtt per
// peer; tests/support/adaptive_managers.ts): the members' reports, the holds, the agreed mode and engine, the probes'
// per-peer RTT and loss, and the agreement's proposals and decisions as the node saw them, a hold's reason with HTML
// in it carried as text. The page that shows it is driven in tests/e2e/dashboard_test.ts.
import assert from "node:assert/strict";
import * as v from "valibot";
import { adminClient } from "../../plugins/admin-http/client.ts";
import { ClusterBody } from "../../plugins/admin-http/schemas.ts";
import { startAdaptiveManagers, until } from "../support/adaptive_managers.ts";
import { TOKEN } from "../support/admin_node.ts";

const REASON = `<img src=x onerror="alert(1)"> & <b>"rack switch"</b>`;

Deno.test({
  name: "admin: GET /cluster on a real adaptive cluster shows every member, the probes' peers, proposals and decisions",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await startAdaptiveManagers({ network: "admin-cluster", token: TOKEN, rackMs: 1_500 });
    try {
      const { managers, engines } = cluster;
      const client = adminClient(cluster.admin.url, TOKEN);
      // The link turns to a WAN; every member reports it; the cluster agrees on internet and moves to PBFT.
      await until(
        () =>
          managers.every((m) => m.getStats().agreement?.engine === "pbft" && m.currentMode === "internet") &&
          Object.values(managers[0].getStats().agreement!.reports).filter((r) => r.summary.rttMs === 120).length === 4,
        "every member on PBFT, in internet, with the WAN reported by all",
      );
      // Two members (f + 1) hold the cluster in internet, with a reason full of HTML.
      await Promise.all([engines[0].force("internet", REASON), engines[1].force("internet", REASON)]);
      await until(() => managers[0].getStats().agreement?.agreed.forced === true, "the hold to be agreed");
      await until(
        () => Object.values(managers[0].getStats().probes.find((p) => p.name === "rtt")?.peers ?? {}).length === 3,
        "probe-rtt to have measured every peer",
      );

      const view = v.parse(ClusterBody, await client.cluster());
      assert.equal(view.nodeId, "n1");
      const agreement = view.agreement!;
      assert.equal(agreement.engine, "pbft");
      assert.ok(agreement.epoch >= 1);
      assert.equal(agreement.agreed.mode, "internet");
      assert.equal(agreement.agreed.reason, `forced: ${REASON}`);
      assert.deepEqual(Object.keys(agreement.reports).sort(), ["n1", "n2", "n3", "n4"]);
      for (const report of Object.values(agreement.reports)) {
        assert.ok(view.nowMs - report.atMs < 10_000, "recent reports");
        assert.equal(report.summary.rttMs, 120, "the WAN's RTT (the replayed link is the worst of the probes)");
      }
      assert.equal(agreement.holds.n1, "internet");
      assert.equal(agreement.holds.n2, "internet");

      // The per-peer results of n1's probe-rtt: its three peers, a round trip and no loss over the memory links.
      const rtt = view.probes.find((probe) => probe.name === "rtt")!;
      assert.deepEqual(Object.keys(rtt.peers).sort(), [
        "admin-cluster-probe-n2",
        "admin-cluster-probe-n3",
        "admin-cluster-probe-n4",
      ]);
      for (const peer of Object.values(rtt.peers)) {
        assert.ok(peer.rttMs !== undefined && peer.rttMs >= 1, JSON.stringify(peer));
        assert.equal(typeof peer.lossRatio, "number");
      }
      assert.equal(
        view.probes.some((probe) => probe.name === "replay"),
        false,
        "a probe without peers() is not listed",
      );

      // What n1 saw: the initial decision and engine, every member's reports, the move to internet and to PBFT, its
      // own switch's agreement step, both holds and the held decision with the reason as given.
      const { events } = view;
      const decisions = events.filter((e) => e.kind === "decision");
      assert.deepEqual(decisions[0], { ...decisions[0], from: null, mode: "datacenter", index: 0 });
      assert.ok(
        decisions.some((e) => e.from !== null && e.mode === "internet" && !e.forced),
        "the decision for internet",
      );
      assert.ok(decisions.some((e) => e.mode === "internet" && e.forced && e.reason === `forced: ${REASON}`));
      const engineChanges = events.filter((e) => e.kind === "engine");
      assert.ok(engineChanges.some((e) => e.from === "raft" && e.engine === "pbft"), JSON.stringify(engineChanges));
      const reporters = new Set(events.flatMap((e) => e.kind === "report" ? [e.member] : []));
      assert.deepEqual([...reporters].sort(), ["n1", "n2", "n3", "n4"]);
      const forces = events.filter((e) => e.kind === "force");
      assert.deepEqual(forces.map((e) => e.kind === "force" && `${e.member}:${e.mode}`).sort(), [
        "n1:internet",
        "n2:internet",
      ]);
      assert.ok(
        events.some((e) => e.kind === "step" && e.wanted === "internet" && e.clusterMode === "internet"),
        "n1's switch to internet ended its agreement step",
      );
      const times = events.map((e) => e.atMs);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), "oldest first");
    } finally {
      await cluster.close();
    }
  },
});
