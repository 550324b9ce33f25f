// GET /metrics passes Prometheus' own linter (`promtool check metrics`, from
// Debian's prometheus package, which .ci/run installs) and uses base units.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { adminNode, TOKEN } from "../support/admin_node.ts";

const hasPromtool = spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;

/** Runs `promtool check metrics` on `text`: its exit code and what it printed. */
function promtool(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (data) => (output += data));
    child.stderr.on("data", (data) => (output += data));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

async function metricsText(): Promise<string> {
  const node = await adminNode();
  try {
    // A plugin metric of each type and a switch, so every family has samples.
    node.manager.metrics.scoped({ plugin: "transport-tcp" }).increment("switchyard_frames_sent_total", "Frames sent.");
    await node.manager.forceMode("internet", "metrics test");
    const response = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return await response.text();
  } finally {
    await node.close();
  }
}

Deno.test({
  name: hasPromtool
    ? "admin: /metrics passes promtool check metrics"
    : "admin: /metrics passes promtool check metrics (skipped: promtool is missing; .ci/run installs Debian's prometheus)",
  ignore: !hasPromtool,
  async fn() {
    const text = await metricsText();
    const { code, output } = await promtool(text);
    assert.equal(code, 0, `promtool found problems:\n${output}`);
    assert.equal(output.trim(), "", output);
  },
});

Deno.test("admin: metric names use base units and counters end in _total", async () => {
  const text = await metricsText();
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => ({ name, type }));
  for (const { name, type } of families) {
    assert.doesNotMatch(
      name,
      /_(ms|mbps|kbps|milliseconds|microseconds|minutes|hours|bits|kilobytes|megabytes)(_|$)/,
      name,
    );
    if (type === "counter") assert.match(name, /_total$/, `${name} is a counter`);
  }
  const names = families.map((family) => family.name);
  for (const expected of ["switchyard_rtt_seconds", "switchyard_bandwidth_bytes_per_second", "switchyard_loss_ratio"]) {
    assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
  }
  assert.ok(names.includes("switchyard_time_in_mode_seconds_total"));
});
