import assert from "node:assert/strict";
import { ValidationError } from "../../mod.ts";
import { parseClusterNodeConfig } from "../../runtime/node/config.ts";
import { clusterNodeManifest } from "../../runtime/node/manifest.ts";

const peer = (n: number) => ({ transport: `10.0.0.${n}:7001`, probe: `10.0.0.${n}:7101`, http: `10.0.0.${n}:8001` });
const GOOD = {
  id: "n1",
  dataDir: "/var/lib/switchyard/n1",
  secretFile: "/etc/switchyard/n1.secret",
  listen: { transport: "10.0.0.1:7001", probe: "10.0.0.1:7101", http: "10.0.0.1:8001", admin: "10.0.0.1:7070" },
  peers: { n2: peer(2), n3: peer(3), n4: peer(4) },
  identities: { n1: "i1", n2: "i2", n3: "i3", n4: "i4" },
};

const issuesOf = (input: unknown) => {
  try {
    parseClusterNodeConfig(input);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.equal(error.code, "CONFIG_INVALID");
    return error.issues.map((issue) => issue.path);
  }
  return [];
};

Deno.test("node config: a good one gets its defaults, and makes a manifest naming every peer's probe and transport", () => {
  const config = parseClusterNodeConfig(GOOD);
  assert.equal(config.adminTokenEnv, "SWITCHYARD_TOKEN");
  assert.deepEqual(config.consensus, { tickMs: 10, reportEveryMs: 500, cooldownMs: 5_000, graceMs: 2_000 });
  const manifest = clusterNodeManifest(config) as { plugins: { id: string; options?: Record<string, unknown> }[] };
  const options = (id: string) => manifest.plugins.find((plugin) => plugin.id === id)!.options!;
  assert.deepEqual(options("probe-rtt").peers, ["10.0.0.2:7101", "10.0.0.3:7101", "10.0.0.4:7101"]);
  assert.deepEqual(options("consensus-adaptive").peers, {
    n1: "10.0.0.1:7001",
    n2: "10.0.0.2:7001",
    n3: "10.0.0.3:7001",
    n4: "10.0.0.4:7001",
  });
  assert.deepEqual([options("admin-http").hostname, options("admin-http").port], ["10.0.0.1", 7070]);
});

Deno.test("node config: bad addresses, missing members, a stray field and bad manager settings are named", () => {
  assert.deepEqual(issuesOf({ ...GOOD, listen: { ...GOOD.listen, http: "10.0.0.1:0", admin: "10.0.0.1:70000" } }), [
    "listen.http",
    "listen.admin",
  ]);
  assert.deepEqual(issuesOf({ ...GOOD, peers: { n2: peer(2) } }), ["peers"]);
  assert.deepEqual(issuesOf({ ...GOOD, surprise: 1 }), ["surprise"]);
  assert.deepEqual(issuesOf({ ...GOOD, identities: { n1: "i1" } }), [
    "identities.n2",
    "identities.n3",
    "identities.n4",
  ]);
  assert.deepEqual(issuesOf({ ...GOOD, peers: { ...GOOD.peers, n1: peer(1) } }), ["peers.n1"]);
  assert.deepEqual(issuesOf({ ...GOOD, manager: { detectionIntervalMs: -5 } }), ["manager.detectionIntervalMs"]);
});
