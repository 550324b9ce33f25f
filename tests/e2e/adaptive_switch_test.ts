/**
 * Four key-value nodes on the adaptive engine, as processes over TCP on
 * loopback with file logs, under client load the whole time:
 *
 * 1. forced Raft → PBFT: two members (f + 1) hold the cluster in internet
 *    mode;
 * 2. detected PBFT → Raft: the holds are released and every node measures a
 *    rack, so the reports bring the cluster back;
 * 3. a node is killed; detected Raft → PBFT while it is down (three nodes
 *    measure a WAN); it restarts after the sealed epoch's engines closed and
 *    joins the newer epoch from its peers' handover;
 * 4. forced PBFT → Raft.
 *
 * The client history, closed by a read of every key, must stay
 * linearizable: nothing acknowledged is lost, nothing applies twice.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { launchKvCluster } from "../../examples/kv/cluster.ts";
import { startKvLoad } from "../../examples/kv/load.ts";

const RACK = { rttMs: 0.2, bandwidthMbps: 20_000, lossRatio: 0 };
const WAN = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };

interface Adaptive {
  epoch: number;
  engine: string;
  agreed: { mode: string; forced?: boolean };
  switches: { how: string }[];
}

Deno.test({
  name:
    "adaptive e2e: forced and detected switches both ways under load, a node down across one; the history stays linearizable",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const logs: string[] = [];
    const cluster = await launchKvCluster({ engine: "adaptive", size: 4, log: (line) => logs.push(line) });
    const url = (id: string) => cluster.nodes.find((node) => node.id === id)!.httpUrl;
    const call = async (id: string, path: string, method = "GET", body?: unknown) => {
      const response = await fetch(`${url(id)}${path}`, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? undefined : { "content-type": "application/json" },
        signal: AbortSignal.timeout(5000),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path} on ${id}: ${response.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    const adaptive = (id: string): Promise<Adaptive> => call(id, "/adaptive");
    const measure = (ids: string[], sample: unknown) =>
      Promise.all(ids.map((id) => call(id, "/adaptive/measurements", "PUT", sample)));
    const force = (ids: string[], mode: string | null) =>
      Promise.all(ids.map((id) => call(id, "/adaptive/force", "POST", { mode, reason: "e2e operator" })));
    const everyone = cluster.nodes.map((node) => node.id);
    const onEngine = async (ids: string[], epoch: number, engine: string, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(ids.map((id) => adaptive(id).catch(() => undefined)));
        if (states.every((state) => state && state.epoch === epoch && state.engine === engine)) {
          return states as Adaptive[];
        }
        if (Date.now() > deadline) {
          throw new Error(`waited for epoch ${epoch} on ${engine}: ${JSON.stringify(states.map((s) => s?.epoch))}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    let load: ReturnType<typeof startKvLoad> | undefined;
    try {
      await cluster.leader();
      await measure(everyone, RACK);
      load = startKvLoad(cluster.urls, ["a", "b", "c", "d"], 5000);
      await new Promise((resolve) => setTimeout(resolve, 800));

      // 1. Forced Raft → PBFT.
      await force(["n1", "n2"], "internet");
      const onPbft = await onEngine(everyone, 1, "pbft");
      assert.ok(onPbft.every((state) => state.agreed.mode === "internet" && state.agreed.forced));

      // 2. Detected PBFT → Raft: the holds go, the rack reports decide.
      await force(["n1", "n2"], null);
      await onEngine(everyone, 2, "raft");

      // 3. A node down across a detected Raft → PBFT switch; back, it joins from its peers' handover.
      await cluster.kill("n4", "SIGKILL");
      await measure(["n1", "n2", "n3"], WAN);
      await onEngine(["n1", "n2", "n3"], 3, "pbft");
      // Past the grace period (2 s) the sealed epoch's engines are closed: n4 cannot replay its way to the seal.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await cluster.restart("n4");
      const [rejoined] = await onEngine(["n4"], 3, "pbft");
      assert.equal(rejoined.switches.at(-1)?.how, "fetched", "n4 took the handover from its peers");
      await measure(["n4"], WAN);

      // 4. Forced PBFT → Raft.
      await force(["n3", "n4"], "datacenter");
      await onEngine(everyone, 4, "raft");
      await new Promise((resolve) => setTimeout(resolve, 500));

      const retries = await load.stop();
      assert.ok(load.acknowledgedPuts > 50, `only ${load.acknowledgedPuts} puts were acknowledged`);
      await load.check(cluster.urls);
      // The sealed epochs' logs go once their engines have closed: on disk, only epoch 4's remains.
      const epochsOnDisk = async (dir: string) =>
        (await readdir(dir)).filter((name) => /^epoch-\d+$/.test(name)).map((name) => Number(name.slice(6)));
      const deadline = Date.now() + 10_000;
      for (const node of cluster.nodes) {
        while ((await epochsOnDisk(node.dataDir)).some((epoch) => epoch < 4)) {
          if (Date.now() > deadline) throw new Error(`${node.id} keeps ${await epochsOnDisk(node.dataDir)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.deepEqual(await epochsOnDisk(node.dataDir), [4], node.id);
      }
      console.log(
        `adaptive e2e: ${load.acknowledgedPuts} puts acknowledged, ${load.unknownPuts} unknown, ${retries} retries, ` +
          `${load.history.length} operations over 4 switches`,
      );
    } catch (error) {
      console.error(logs.slice(-60).join("\n"));
      for (const id of everyone) {
        console.error(`${id}: ${JSON.stringify(await adaptive(id).catch((failure) => String(failure)))}`);
      }
      throw error;
    } finally {
      await load?.stop();
      await cluster.stop();
    }
  },
});
