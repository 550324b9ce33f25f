/**
 * Four PBFT replicas as processes with the file log under client load:
 *
 * 1. a backup is killed with SIGKILL mid-load; while it is down the others
 *    move past several checkpoints, so once restarted it catches up by state
 *    transfer;
 * 2. the primary is stopped (SIGSTOP) until the others change views, then
 *    let go again;
 * 3. a backup is replaced by a process that equivocates (it tells half of
 *    the others something else, signed with its own key).
 *
 * The client history, closed by a read of every key, must stay
 * linearizable: nothing acknowledged is lost, nothing applies twice.
 */
import assert from "node:assert/strict";
import { launchKvCluster } from "../../examples/kv/cluster.ts";
import { startKvLoad } from "../../examples/kv/load.ts";

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Status {
  role: string;
  term: number;
  leaderId: string | null;
  appliedIndex: number;
  pbft: { stateTransfers: number; viewChanging: boolean; executed: number };
}

Deno.test({
  name: "pbft crash: a killed replica catches up by state transfer, a stopped primary is replaced, an equivocating " +
    "replica changes nothing; the history stays linearizable",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const logs: string[] = [];
    const cluster = await launchKvCluster({
      engine: "pbft",
      size: 4,
      log: (line) => logs.push(line),
      extraArgs: () => ["--checkpoint-interval", "8"],
    });
    const status = (id: string): Promise<Status> =>
      fetch(`${cluster.nodes.find((node) => node.id === id)!.httpUrl}/status`, { signal: AbortSignal.timeout(2000) })
        .then((response) => response.json());
    const waitFor = async (what: string, done: () => Promise<boolean>, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await done().catch(() => false))) {
        if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
        await wait(50);
      }
    };
    let load: ReturnType<typeof startKvLoad> | undefined;
    try {
      const primary = (await cluster.leader()).id;
      const backups = cluster.nodes.map((node) => node.id).filter((id) => id !== primary);
      load = startKvLoad(cluster.urls, ["a", "b", "c", "d"], 5000);
      await wait(1000);

      // 1. A backup dies mid-load and comes back after the others moved on.
      const victim = backups[0];
      await cluster.kill(victim, "SIGKILL");
      const executedBefore = (await status(backups[1])).pbft.executed;
      await waitFor(
        "the others to pass several checkpoints",
        async () => (await status(backups[1])).pbft.executed > executedBefore + 40,
      );
      await cluster.restart(victim);
      await waitFor("the restarted replica to catch up by state transfer", async () => {
        const restarted = await status(victim);
        return restarted.pbft.stateTransfers >= 1 &&
          restarted.pbft.executed >= (await status(backups[1])).pbft.executed - 8;
      });

      // 2. The primary stops answering; the others change views without it.
      cluster.signal(primary, "SIGSTOP");
      await waitFor("a view change", async () => {
        const states = await Promise.all(backups.map(status));
        return states.every((state) => state.term > 0 && !state.pbft.viewChanging);
      }, 30_000);
      cluster.signal(primary, "SIGCONT");
      await wait(1000);

      // 3. A backup is replaced by a replica that equivocates.
      const liar = backups.find((id) => id !== victim)!;
      await cluster.kill(liar, "SIGKILL");
      await cluster.restart(liar, ["--byzantine", "equivocate"]);
      const appliedBefore = (await status(victim)).appliedIndex;
      await waitFor(
        "progress with the liar in the cluster",
        async () => (await status(victim)).appliedIndex > appliedBefore + 40,
      );

      const retries = await load.stop();
      assert.ok(load.acknowledgedPuts > 50, `only ${load.acknowledgedPuts} puts were acknowledged`);
      await load.check(cluster.urls.filter((_, i) => cluster.nodes[i].id !== liar));
      const rejected = JSON.stringify((await status(victim)).pbft);
      console.log(
        `pbft crash test: ${load.acknowledgedPuts} puts acknowledged, ${load.unknownPuts} unknown, ${retries} retries, ` +
          `${load.history.length} operations; ${victim} refused: ${rejected.slice(0, 300)}`,
      );
    } catch (error) {
      console.error(logs.slice(-60).join("\n"));
      throw error;
    } finally {
      await load?.stop();
      await cluster.stop();
    }
  },
});
