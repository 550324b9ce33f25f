// The KV node's numeric PBFT tuning options: a bad value exits 2 with one
// line naming the option, before anything starts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runtimeCommand } from "../../examples/kv/cluster.ts";

const NODE_SCRIPT = fileURLToPath(new URL("../../examples/kv/node.ts", import.meta.url));

for (const option of ["lanes", "inflight-batches", "batch-requests", "operations-per-request", "checkpoint-interval"]) {
  Deno.test(`kv node: --${option} 0 exits 2 naming the option`, () => {
    const [command, args] = runtimeCommand(NODE_SCRIPT, [
      "--id",
      "n1",
      "--node",
      "n1=127.0.0.1:1,127.0.0.1:2",
      "--data-dir",
      "/nonexistent-kv-node-test",
      "--engine",
      "pbft",
      `--${option}`,
      "0",
    ]);
    const run = spawnSync(command, args, { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`--${option} must be a whole number above 0, got "0"`));
  });
}
