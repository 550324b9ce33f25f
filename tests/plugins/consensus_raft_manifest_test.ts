import assert from "node:assert/strict";
import { CONSENSUS, fromManifest, ManualClock, silentLogger } from "../../mod.ts";
import { KvStore } from "../../runtime/kv/mod.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import { MemoryHost } from "../support/memory_host.ts";
import { TEST_CLUSTER_KEY } from "../support/raft_cluster.ts";

Deno.test("consensus-raft from a manifest: the manager's consensus slot serves a replicated store; internet mode waits for an engine that serves it", async () => {
  const host = new MemoryHost();
  host.write(
    "m.json",
    JSON.stringify({
      plugins: [
        {
          id: "transport-memory",
          module: "builtin:transport-memory",
          options: { network: "raft-manifest", address: "n1" },
        },
        {
          id: "consensus-raft",
          module: "builtin:consensus-raft",
          options: { nodeId: "n1", peers: { n1: "n1" }, clusterKey: TEST_CLUSTER_KEY },
        },
      ],
      slots: {
        consensus: { datacenter: "consensus-raft", hybrid: "consensus-raft", internet: "consensus-raft" },
      },
    }),
  );
  const clock = new ManualClock();
  const manager = await fromManifest("m.json", {
    host,
    builtins: BUILTIN_PLUGINS,
    logger: silentLogger,
    clock,
  });
  const stats = manager.getStats();
  assert.deepEqual(stats.plugins.map((p) => [p.id, p.state]), [
    ["transport-memory", "loaded"],
    ["consensus-raft", "loaded"],
  ]);
  assert.match(stats.unavailableModes.internet ?? "", /consensus-raft" does not serve internet/);
  await manager.initialize();
  const engine = manager.getComponent(CONSENSUS);
  assert.equal(engine.name, "raft");
  const store = new KvStore(engine);
  await store.start();
  while (store.consensus.stats().role !== "leader") await clock.advance(10);
  const put = store.put("color", "green");
  await clock.advance(0);
  assert.equal((await put).result, null);
  assert.equal(await store.get("color"), "green");
  await store.close();
  await manager.close();
});
