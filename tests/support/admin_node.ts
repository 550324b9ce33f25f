/**
 * A manager on a ManualClock with one scripted probe and the admin endpoint
 * on a free loopback port, for the admin-http tests.
 *
 * @module
 */
import { HybridManager, type HybridManagerOptions, ManualClock, silentLogger } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import admin, { type AdminHttp } from "../../plugins/admin-http/mod.ts";
import { LINKS, ScriptedProbe } from "./scripted_probe.ts";

/** The token every admin test node is given. */
export const TOKEN = "test-token-0123456789abcdef";

/** A started node and its endpoint; `close()` stops both. */
export interface AdminNode {
  clock: ManualClock;
  probe: ScriptedProbe;
  manager: HybridManager;
  server: AdminHttp;
  url: string;
  close(): Promise<void>;
}

/**
 * Starts a node (datacenter link, first round done) and its endpoint with
 * `options` over the defaults; `config` and `manager` go to the manager.
 */
export async function adminNode(
  options: Record<string, unknown> = {},
  config: Record<string, unknown> = {},
  manager: Pick<HybridManagerOptions, "unavailableModes"> = {},
): Promise<AdminNode> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const probe = new ScriptedProbe("link", LINKS.datacenter);
  const node = new HybridManager({
    ...manager,
    clock,
    probes: [probe],
    logger: silentLogger,
    nodeId: "admin-test",
    config: { sampleWindow: 1, cooldownMs: 0, ...config },
  });
  node.registerComponent("codec", { name: "lz4" }, { name: "zstd" });
  const server = await instantiate(admin, { port: 0, token: TOKEN, heartbeatMs: 60_000, ...options }, {
    host: node,
    clock,
  });
  await node.start();
  await clock.advance(0);
  return {
    clock,
    probe,
    manager: node,
    server,
    url: server.url,
    close: async () => {
      await server.close();
      await node.stop();
    },
  };
}
