/**
 * Three Raft nodes as processes with the file log under client load: the
 * leader is killed with SIGKILL mid-load and restarted, then the whole
 * cluster is killed at once and restarted. The client history, closed by a
 * read of every key after the restarts, must stay linearizable: nothing
 * acknowledged is lost, nothing reappears, no append applies twice (the
 * clients retry writes whose answer was lost; their identity makes that safe).
 */
import assert from "node:assert/strict";
import { launchKvCluster } from "../../examples/kv/cluster.ts";
import { startKvLoad } from "../../examples/kv/load.ts";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name:
    "raft crash: SIGKILL mid-load and a whole-cluster kill keep the history linearizable, losing nothing acknowledged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const logs: string[] = [];
    const cluster = await launchKvCluster({ size: 3, log: (line) => logs.push(line) });
    let load: ReturnType<typeof startKvLoad> | undefined;
    try {
      await cluster.leader();
      load = startKvLoad(cluster.urls);
      await wait(1500);
      const victim = await cluster.leader();
      await cluster.kill(victim.id, "SIGKILL");
      await wait(1500);
      const successor = await cluster.leader();
      assert.notEqual(successor.id, victim.id);
      await cluster.restart(victim.id);
      await wait(1500);
      const retries = await load.stop();

      // Everyone at once: only what reached the disks survives.
      await Promise.all(cluster.nodes.map((node) => cluster.kill(node.id, "SIGKILL")));
      await Promise.all(cluster.nodes.map((node) => cluster.restart(node.id)));
      const leader = await cluster.leader();
      // /status reports the consensus stats: authenticated peers, and health once a quorum acknowledges the leader.
      let status: { healthy?: boolean; peerAuth?: boolean } = {};
      for (let i = 0; i < 100 && !status.healthy; i++) {
        status = await fetch(`${leader.httpUrl}/status`).then((response) => response.json());
        if (!status.healthy) await wait(50);
      }
      assert.equal(status.peerAuth, true);
      assert.equal(status.healthy, true, JSON.stringify(status));
      assert.ok(load.acknowledgedPuts > 50, `only ${load.acknowledgedPuts} puts were acknowledged`);
      await load.check(cluster.urls);
      console.log(
        `raft crash test: ${load.acknowledgedPuts} puts acknowledged, ${load.unknownPuts} unknown, ${retries} retries ` +
          `after unknown outcomes, ${load.history.length} operations`,
      );
    } catch (error) {
      console.error(logs.slice(-40).join("\n"));
      throw error;
    } finally {
      await load?.stop();
      await cluster.stop();
    }
  },
});
