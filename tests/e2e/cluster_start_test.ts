/**
 * The main job as a user runs it (`deno task start`, or `bun
 * examples/cluster/main.ts`): four node processes behind emulated links, a
 * client workload, a scenario. With the `quick` scenario the cluster must
 * follow every phase (datacenter → internet → hybrid → datacenter, on Raft,
 * PBFT, Raft, Raft) and the history must check; Ctrl-C must stop every
 * process and still print the summary.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeCommand } from "../../examples/node_process.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Starts the main job in a process group of its own; `onLine` sees each
 * line of its stdout as it comes, and can signal the whole group.
 */
function startMain(args: string[], onLine: (line: string, signal: (name: NodeJS.Signals) => void) => void = () => {}) {
  const [command, commandArgs] = runtimeCommand("examples/cluster/main.ts", args);
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    // A process group of its own, as a terminal gives a job: a signal to the group is what Ctrl-C sends.
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout.on("data", (data) => {
    stdout += data;
    pending += data;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) onLine(line, (name) => process.kill(-child.pid!, name));
  });
  child.stderr.on("data", (data) => (stderr += data));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The key-value URLs the job printed. */
const urlsIn = (stdout: string) => [...stdout.matchAll(/key-value (http:\/\/\S+)/g)].map((match) => match[1]);

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/status`, { signal: AbortSignal.timeout(2_000) });
    return false;
  } catch {
    return true;
  }
}

Deno.test({
  name: "start: the quick scenario's cluster follows every phase, switching engines both ways, and its history checks",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { code, stdout, stderr } = await startMain(["--scenario", "quick", "--seed", "3"]);
    const context = `${stdout}\n${stderr.slice(-3000)}`;
    assert.equal(code, 0, context);
    assert.match(stdout, /decisions: 3 \(datacenter -> internet, internet -> hybrid, hybrid -> datacenter\)/, context);
    for (const phase of ["rack", "degraded WAN", "metro link", "rack again"]) {
      assert.match(stdout, new RegExp(`phase "${phase}": expect \\w+, reached on every node in`), context);
    }
    assert.match(stdout, /every node serves internet on pbft/, context);
    assert.match(stdout, /agreed datacenter -> internet at log index \d+: internet: rttMs/, context);
    assert.match(stdout, /history: linearizable/, context);
    assert.match(stdout, /latency in internet: p50 [\d.]+ ms, p99 [\d.]+ ms/, context);
    const urls = urlsIn(stdout);
    assert.equal(urls.length, 4);
    for (const url of urls) assert.ok(await refused(url), `${url} still answers after the job ended`);
  },
});

Deno.test({
  name:
    "start: Ctrl-C (to the whole process group, as a terminal sends it) stops every node and still prints the summary",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    let progressLines = 0;
    let interrupted = false;
    const { code, stdout, stderr } = await startMain(["--scenario", "rack"], (line, signal) => {
      // The progress line (every 5 s without a terminal) shows the cluster at work; then, Ctrl-C.
      if (/ops\/s/.test(line) && ++progressLines === 1 && !interrupted) {
        interrupted = true;
        signal("SIGINT");
      }
    });
    const context = `${stdout}\n${stderr.slice(-3000)}`;
    assert.ok(interrupted, context);
    assert.match(stdout, /Ctrl-C: stopping/, context);
    assert.match(stdout, /Summary \(/, context);
    assert.match(stdout, /phase "rack": expect datacenter, reached on every node/, context);
    assert.match(stdout, /history: linearizable/, context);
    assert.equal(code, 0, context);
    for (const url of urlsIn(stdout)) assert.ok(await refused(url), `${url} still answers after Ctrl-C`);
  },
});

Deno.test({
  name:
    "start, split topology with per-peer link modes: rack links on datacenter and WAN links on internet at the same time, on every node",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await mkdtemp(join(tmpdir(), "switchyard-split-"));
    const file = `${dir}/split.json`;
    await writeFile(
      file,
      JSON.stringify({
        // Split from the start: a first phase on one rack would judge every link at the nodes' start, whose first
        // samples are noise (a link measured alone has no quorum to smooth it), and CI once saw one not settle in 6 s.
        phases: [
          {
            name: "two racks",
            seconds: 18,
            rttMs: 0.2,
            bandwidthMbps: 0,
            expect: "internet",
            split: { racks: [["n1", "n2"], ["n3", "n4"]], wan: { rttMs: 120, jitterMs: 5, bandwidthMbps: 40 } },
          },
        ],
      }),
    );
    try {
      const { code, stdout, stderr } = await startMain(["--scenario", file, "--link-modes", "per-peer", "--seed", "5"]);
      const context = `${stdout}\n${stderr.slice(-3000)}`;
      assert.equal(code, 0, context);
      assert.match(stdout, /link modes per-peer/, context);
      assert.match(
        stdout,
        /every node's links on their modes: datacenter inside racks, internet between them/,
        context,
      );
      assert.match(stdout, /phase "two racks": expect internet, reached on every node in/, context);
      assert.match(stdout, /links datacenter inside racks, internet between them: reached in/, context);
      assert.match(stdout, /history: linearizable/, context);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});

Deno.test("start: a split naming a node the cluster does not have, or a bad --link-modes, is a usage error (exit 2)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-split-"));
  const file = `${dir}/split.json`;
  const racks = [["n1", "n2"], ["n3", "n9"]];
  await writeFile(
    file,
    JSON.stringify({
      phases: [{
        name: "x",
        seconds: 5,
        rttMs: 0.2,
        bandwidthMbps: 0,
        split: { racks, wan: { rttMs: 100, bandwidthMbps: 10 } },
      }],
    }),
  );
  try {
    const unknown = await startMain(["--scenario", file]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /phases\.0\.split\.racks: n9 is not one of the 4 nodes/);
    const badModes = await startMain(["--link-modes", "per-link"]);
    assert.equal(badModes.code, 2, badModes.stderr);
    assert.match(badModes.stderr, /--link-modes must be one of global, per-peer/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
