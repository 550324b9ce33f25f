/**
 * The local cluster (`examples/cluster/`) as processes behind emulated
 * links, under client load: its Raft leader is killed (SIGKILL), the other
 * three keep committing; it restarts from its data directory and catches
 * up; the client history is linearizable and every node ends with the same
 * store.
 */
import { launchCluster } from "../../examples/cluster/launch.ts";
import { startKvLoad } from "../../examples/kv/load.ts";

interface Status {
  role: string;
  commitIndex: number;
  appliedIndex: number;
  engine: string;
  storeDigest: string;
}

Deno.test({
  name: "cluster: the leader killed, the rest keep committing; back, it catches up; histories agree and check",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const logs: string[] = [];
    const cluster = await launchCluster({
      initialLink: { rttMs: 1, bandwidthMbps: 0 },
      log: (line) => logs.push(line),
    });
    const status = (url: string): Promise<Status | undefined> =>
      fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.json()).catch(() => undefined);
    const until = async (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    let load: ReturnType<typeof startKvLoad> | undefined;
    try {
      load = startKvLoad(cluster.urls, ["a", "b", "c", "d"], 5_000);
      const running = load;
      await until("50 puts acknowledged", () => running.acknowledgedPuts >= 50);
      let leader = -1;
      await until("a Raft leader", async () => {
        const states = await Promise.all(cluster.urls.map(status));
        leader = states.findIndex((state) => state?.role === "leader" && state.engine === "raft");
        return leader >= 0;
      });
      const victim = cluster.members[leader];
      await cluster.kill(victim.id, "SIGKILL");
      const before = load.acknowledgedPuts;
      await until("50 more puts with the leader down", () => running.acknowledgedPuts >= before + 50);

      const others = cluster.urls.filter((url) => url !== victim.httpUrl);
      const commitIndex = Math.max(...(await Promise.all(others.map(status))).map((state) => state?.commitIndex ?? 0));
      await cluster.restart(victim.id);
      await until(`${victim.id} to catch up to index ${commitIndex}`, async () => {
        const state = await status(victim.httpUrl);
        return (state?.appliedIndex ?? 0) >= commitIndex;
      });
      const after = load.acknowledgedPuts;
      await until("50 more puts with every node back", () => running.acknowledgedPuts >= after + 50);

      await load.stop();
      await load.check(cluster.urls);
      // Nothing is written any more: every store converges to the same content.
      await until("every node's store to be the same", async () => {
        const digests = (await Promise.all(cluster.urls.map(status))).map((state) => state?.storeDigest);
        return digests.every((digest) => digest !== undefined && digest === digests[0]);
      });
    } catch (error) {
      console.error(logs.slice(-40).join("\n"));
      throw error;
    } finally {
      await load?.stop().catch(() => {});
      await cluster.stop();
    }
  },
});
