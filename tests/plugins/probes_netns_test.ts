// Bandwidth over a real kernel link: a veth pair between two network namespaces
// made by this test, shaped with `tc ... tbf` (netem does not exist on this
// kernel; tbf does). Needs root and iproute2; skipped with a message otherwise.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { execPath, getuid, pid } from "node:process";
import { currentRuntime } from "../../core/util/runtime.ts";

function canMakeNamespaces(): string | undefined {
  if (getuid?.() !== 0) return "not root";
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    execFileSync("tc", ["-V"], { stdio: "ignore" });
  } catch {
    return "iproute2 (ip, tc) is not installed";
  }
  return undefined;
}

const why = canMakeNamespaces();
const RATE_MBPS = 100;

Deno.test({
  name: why
    ? `probe-bandwidth over a tbf-shaped veth pair (skipped: ${why})`
    : `probe-bandwidth over a veth pair shaped to ${RATE_MBPS} Mbit/s with tc tbf is within 15 %`,
  ignore: why !== undefined,
  async fn() {
    const a = `sy-a-${pid}`;
    const b = `sy-b-${pid}`;
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
    const runtimeArgs = (script: string, arg: string) =>
      currentRuntime() === "bun" ? [execPath, script, arg] : [execPath, "run", "-A", script, arg];
    let responder: ReturnType<typeof spawn> | undefined;
    try {
      ip("netns", "add", a);
      ip("netns", "add", b);
      ip("link", "add", "vsya", "netns", a, "type", "veth", "peer", "name", "vsyb", "netns", b);
      ip("-n", a, "addr", "add", "10.213.0.1/24", "dev", "vsya");
      ip("-n", b, "addr", "add", "10.213.0.2/24", "dev", "vsyb");
      for (const [ns, dev] of [[a, "vsya"], [b, "vsyb"], [a, "lo"], [b, "lo"]]) ip("-n", ns, "link", "set", dev, "up");
      execFileSync("tc", [
        "-n",
        a,
        "qdisc",
        "add",
        "dev",
        "vsya",
        "root",
        "tbf",
        "rate",
        `${RATE_MBPS}mbit`,
        "burst",
        "64kb",
        "latency",
        "100ms",
      ]);

      const responderScript = new URL("../support/netns_responder.ts", import.meta.url).pathname;
      const measureScript = new URL("../support/netns_measure.ts", import.meta.url).pathname;
      responder = spawn("ip", ["netns", "exec", b, ...runtimeArgs(responderScript, "10.213.0.2:7301")], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      await new Promise<void>((resolve, reject) => {
        responder!.stdout!.on(
          "data",
          (chunk: Uint8Array) => new TextDecoder().decode(chunk).includes("ready") && resolve(),
        );
        responder!.on("exit", (code) => reject(new Error(`responder exited with ${code}`)));
      });
      const output = execFileSync("ip", ["netns", "exec", a, ...runtimeArgs(measureScript, "10.213.0.2:7301")], {
        encoding: "utf8",
        timeout: 60_000,
      });
      const { sample } = JSON.parse(output.trim().split("\n").at(-1)!);
      const error = Math.abs(sample.bandwidthMbps - RATE_MBPS) / RATE_MBPS;
      assert.ok(
        error <= 0.15,
        `measured ${sample.bandwidthMbps.toFixed(1)} Mbit/s over a ${RATE_MBPS} Mbit/s tbf link`,
      );
    } finally {
      responder?.kill();
      for (const ns of [a, b]) {
        try {
          ip("netns", "del", ns);
        } catch { /* not created */ }
      }
    }
  },
});
