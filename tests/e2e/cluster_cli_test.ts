/**
 * The `switchyard` CLI against the local cluster (`examples/cluster/`):
 * `cluster` shows every node, `plugins` what a node loaded, `mode set` on
 * f + 1 nodes moves the whole cluster to PBFT and `mode auto` brings it
 * back; a node that is down makes `cluster` exit 1; a bad configuration
 * makes `node` exit 2 naming every bad field.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { launchCluster } from "../../examples/cluster/launch.ts";
import { freePort, NodeProcess, writeReplicaSecrets } from "../../examples/node_process.ts";
import { runProgram } from "../support/run_program.ts";

const cli = (args: string[], env: Record<string, string> = {}) => runProgram("runtime/cli/main.ts", args, env);

Deno.test({
  name: "switchyard CLI: cluster, plugins, mode set on f + 1 nodes moves the cluster, mode auto releases it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cluster = await launchCluster({ initialLink: { rttMs: 1, bandwidthMbps: 0 } });
    const env = { SWITCHYARD_TOKEN: cluster.token };
    const [n1, n2] = cluster.members;
    const rows = async () => {
      const result = await cli(["cluster", "--config", n1.configFile, "--json"]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as { id: string; status: { engine: string; agreed: { mode: string } } }[];
    };
    const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    try {
      const table = await cli(["cluster", "--config", n1.configFile]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^node\s+mode\s+agreed\s+engine\s+role/);
      for (const id of ["n1", "n2", "n3", "n4"]) assert.match(table.stdout, new RegExp(`^${id}\\s+\\w+`, "m"));

      const plugins = await cli(["plugins", "--url", n1.adminUrl], env);
      assert.equal(plugins.code, 0, plugins.stderr);
      for (const id of ["transport-adaptive", "probe-rtt", "probe-bandwidth", "consensus-adaptive", "admin-http"]) {
        assert.match(plugins.stdout, new RegExp(`^${id}\\s+loaded`, "m"));
      }

      for (const member of [n1, n2]) {
        const set = await cli(["mode", "set", "internet", "--reason", "cli test", "--url", member.adminUrl], env);
        assert.equal(set.code, 0, `${set.stdout}\n${set.stderr}`);
      }
      await until(
        "every node on PBFT, held",
        async () =>
          (await rows()).every((row) => row.status?.engine === "pbft" && row.status.agreed.mode === "internet"),
      );

      for (const member of [n1, n2]) {
        const auto = await cli(["mode", "auto", "--url", member.adminUrl], env);
        assert.equal(auto.code, 0, `${auto.stdout}\n${auto.stderr}`);
      }
      // The measurements (a rack) decide again, past the cluster's cooldown.
      await until(
        "every node back on Raft",
        async () =>
          (await rows()).every((row) => row.status?.engine === "raft" && row.status.agreed.mode === "datacenter"),
      );

      const down = await cli(["cluster", "--node", "http://127.0.0.1:9"]);
      assert.equal(down.code, 1, down.stdout);
      assert.match(down.stdout, /down/);
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test("switchyard CLI: node refuses a bad configuration with exit 2, naming every bad field", async () => {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-cli-"));
  try {
    const file = join(dir, "bad.json");
    await writeFile(
      file,
      JSON.stringify({
        id: "n1",
        dataDir: dir,
        secretFile: join(dir, "n1.secret"),
        listen: { transport: "127.0.0.1:7001", probe: "nowhere", http: "127.0.0.1:8001", admin: "127.0.0.1:7070" },
        peers: { n2: { transport: "127.0.0.1:7002", probe: "127.0.0.1:7102", http: "127.0.0.1:8002" } },
        identities: { n1: "x" },
        manager: { detectionIntervalMs: -1 },
        surprise: true,
      }),
    );
    const bad = await cli(["node", "--config", file]);
    assert.equal(bad.code, 2, bad.stderr);
    for (const field of ["listen.probe", "peers", "surprise"]) assert.match(bad.stderr, new RegExp(`- ${field}: `));
    assert.doesNotMatch(bad.stderr, /\n\s+at /, "no stack trace");

    await writeFile(file, "{ not json");
    const notJson = await cli(["node", "--config", file]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /not JSON/);
    assert.equal((await cli(["node"])).code, 2);
    for (const command of [["node"], ["cluster"], ["bench"], ["mode"], ["status"]]) {
      const help = await cli([...command, "--help"]);
      assert.equal(help.code, 0, `${command}: ${help.stderr}`);
      assert.match(help.stdout, /^usage: switchyard/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

Deno.test({
  name:
    "switchyard CLI: node --exit-with-stdin stops cleanly (exit 0) when its standard input closes, as when its launcher dies",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-cli-"));
    try {
      const ids = ["n1", "n2", "n3", "n4"];
      const { files, identities } = await writeReplicaSecrets(dir, ids);
      const address = async () => `127.0.0.1:${await freePort()}`;
      const peers: Record<string, unknown> = {};
      for (const id of ids.slice(1)) {
        peers[id] = { transport: await address(), probe: await address(), http: await address() };
      }
      const config = {
        id: "n1",
        dataDir: join(dir, "n1"),
        secretFile: files.n1,
        listen: { transport: await address(), probe: await address(), http: await address(), admin: await address() },
        peers, // nobody there: a lone node starts all the same
        identities,
      };
      const file = join(dir, "n1.json");
      await writeFile(file, JSON.stringify(config));
      const node = new NodeProcess("n1", "runtime/cli/main.ts", ["node", "--config", file, "--exit-with-stdin"], {
        env: { ...process.env, SWITCHYARD_TOKEN: "a-token-of-more-than-16-characters" },
        detached: true,
      });
      await node.start();
      const child = node.child!;
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.stdin!.end();
      assert.equal(await exited, 0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
