/**
 * Three Raft nodes as processes with the file log under client load: the
 * leader is killed with SIGKILL mid-load and restarted, then the whole
 * cluster is killed at once and restarted. The client history, closed by a
 * read of every key after the restarts, must stay linearizable: nothing
 * acknowledged is lost, nothing reappears. The clients retry writes whose
 * answer was lost (their identity makes that safe), and each also appends
 * its operation numbers to a trail of its own: every acknowledged append
 * must be there exactly once, every unknown one at most once, in order.
 */
import assert from "node:assert/strict";
import { KvHttpClient, UnknownOutcome } from "../../examples/kv/client.ts";
import { launchKvCluster } from "../../examples/kv/cluster.ts";
import { checkLinearizable, type KvOperation } from "../sim/linearizability.ts";

const KEYS = ["k0", "k1", "k2", "k3", "k4"];

Deno.test({
  name:
    "raft crash: SIGKILL mid-load and a whole-cluster kill keep the history linearizable, losing nothing acknowledged",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const logs: string[] = [];
    const cluster = await launchKvCluster({ size: 3, log: (line) => logs.push(line) });
    const history: KvOperation[] = [];
    let acknowledgedPuts = 0;
    let unknownPuts = 0;
    let retries = 0;
    const trails = new Map<string, { acknowledged: Set<string>; unknown: Set<string> }>();
    let running = true;
    try {
      await cluster.leader();
      const clientLoop = async (clientId: string) => {
        const client = new KvHttpClient(cluster.urls, { timeoutMs: 3000 });
        const trail = { acknowledged: new Set<string>(), unknown: new Set<string>() };
        trails.set(clientId, trail);
        for (let sequence = 0; running; sequence++) {
          if (sequence % 4 === 3) {
            try {
              await client.append(`trail-${clientId}`, `${sequence},`);
              trail.acknowledged.add(String(sequence));
            } catch (error) {
              if (!(error instanceof UnknownOutcome)) throw error;
              trail.unknown.add(String(sequence));
            }
            continue;
          }
          const key = KEYS[sequence % KEYS.length];
          const kind = sequence % 3 === 2 ? "get" : "put";
          const value = kind === "put" ? `${clientId}:${sequence}` : null;
          const op: KvOperation = { clientId, kind, key, value, callMs: performance.now(), returnMs: Infinity };
          try {
            if (kind === "put") {
              await client.put(key, value!);
              acknowledgedPuts++;
            } else op.value = await client.get(key);
            op.returnMs = performance.now();
            history.push(op);
          } catch (error) {
            if (kind === "put" && error instanceof UnknownOutcome) {
              unknownPuts++;
              history.push(op); // may have taken effect: it never returns
            } else if (kind === "put") throw error;
          }
        }
        retries += client.retries;
      };
      const clients = ["a", "b", "c", "d"].map(clientLoop);
      const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

      await wait(1500);
      const victim = await cluster.leader();
      await cluster.kill(victim.id, "SIGKILL");
      await wait(1500);
      const successor = await cluster.leader();
      assert.notEqual(successor.id, victim.id);
      await cluster.restart(victim.id);
      await wait(1500);
      running = false;
      await Promise.all(clients);

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
      const reader = new KvHttpClient(cluster.urls, { timeoutMs: 5000 });
      for (const key of KEYS) {
        const callMs = performance.now();
        const value = await reader.get(key);
        history.push({ clientId: "final", kind: "get", key, value, callMs, returnMs: performance.now() });
      }
      assert.ok(acknowledgedPuts > 50, `only ${acknowledgedPuts} puts were acknowledged`);
      for (const [clientId, trail] of trails) {
        const tokens = ((await reader.get(`trail-${clientId}`)) ?? "").split(",").filter(Boolean);
        const seen = new Set(tokens);
        assert.equal(seen.size, tokens.length, `client ${clientId}: an append applied twice: ${tokens}`);
        for (const token of trail.acknowledged) assert.ok(seen.has(token), `client ${clientId}: lost append ${token}`);
        for (const token of tokens) {
          assert.ok(trail.acknowledged.has(token) || trail.unknown.has(token), `client ${clientId}: stray ${token}`);
        }
        assert.deepEqual(tokens.map(Number), tokens.map(Number).sort((x, y) => x - y), `client ${clientId}: order`);
      }
      const verdict = checkLinearizable(history);
      assert.ok(
        verdict.ok,
        `not linearizable on ${!verdict.ok && verdict.key} (${acknowledgedPuts} acknowledged, ${unknownPuts} unknown)`,
      );
      console.log(
        `crash test: ${acknowledgedPuts} puts acknowledged, ${unknownPuts} unknown, ${retries} retries after ` +
          `unknown outcomes, ${history.length} operations`,
      );
    } catch (error) {
      console.error(logs.slice(-40).join("\n"));
      throw error;
    } finally {
      running = false;
      await cluster.stop();
    }
  },
});
