/**
 * Quick start: a manager on the real clock, fed by a scripted probe that
 * replays a network changing under the node (datacenter, then a WAN
 * failover, then a congested metro link, then back), with ±5 % jitter and
 * one spike. Every switch is printed with its reason; it ends by itself.
 *
 * Run: `deno task quick-start` (or `bun examples/quick_start.ts`).
 *
 * @module
 */
import { HybridManager, type Lifecycle, type NetworkSample, type Probe, seededRandom } from "@switchyard/hybrid";

const random = seededRandom(2026);
const startedMs = Date.now();
const elapsedMs = () => Date.now() - startedMs;

/** The network the probe "sees", phase by phase. */
const script: { untilMs: number; label: string; link: NetworkSample }[] = [
  { untilMs: 2_000, label: "same rack", link: { rttMs: 0.4, bandwidthMbps: 25_000, lossRatio: 0 } },
  { untilMs: 4_500, label: "WAN failover", link: { rttMs: 85, bandwidthMbps: 200, lossRatio: 0.02 } },
  { untilMs: 7_000, label: "metro link", link: { rttMs: 22, bandwidthMbps: 5_000, lossRatio: 0.0005 } },
  { untilMs: 9_500, label: "back in the rack", link: { rttMs: 0.5, bandwidthMbps: 25_000, lossRatio: 0 } },
];

const scriptedProbe: Probe = {
  name: "scripted-link",
  measure() {
    const phase = script.find((step) => elapsedMs() < step.untilMs) ?? script[script.length - 1];
    const jitter = () => 1 + random.between(-0.05, 0.05);
    const spike = random.next() < 0.05; // a rare outlier the median absorbs
    return Promise.resolve({
      rttMs: phase.link.rttMs! * jitter() * (spike ? 20 : 1),
      bandwidthMbps: phase.link.bandwidthMbps! * jitter(),
      lossRatio: phase.link.lossRatio,
    });
  },
};

/** A codec stand-in that reports its lifecycle. */
function codec(name: string): Lifecycle & { name: string } {
  return {
    name,
    activate: () => console.log(`  [${name}] activate`),
    drain: () => console.log(`  [${name}] drain`),
    deactivate: () => console.log(`  [${name}] deactivate`),
  };
}

const manager = new HybridManager({
  nodeId: "quick-start-node",
  probes: [scriptedProbe],
  config: {
    detectionIntervalMs: 150,
    probeTimeoutMs: 100,
    sampleWindow: 3,
    cooldownMs: 600,
    flapWindowMs: 2_000,
    drainTimeoutMs: 200,
  },
});
manager.registerComponent("compression", {
  datacenter: codec("lz4"),
  internet: codec("zstd-19"),
  hybrid: codec("zstd-3"),
});
manager.onModeChange(({ from, to, reason }) => {
  const phase = script.find((step) => elapsedMs() < step.untilMs)?.label ?? "end";
  console.log(`${(elapsedMs() / 1000).toFixed(2)}s  ${from} -> ${to}  (network: ${phase})\n        ${reason}`);
});

console.log("Switchyard quick start: watching a scripted network for 9.5 s\n");
await manager.start();
await new Promise((resolve) => setTimeout(resolve, script[script.length - 1].untilMs));
await manager.stop();

const stats = manager.getStats();
console.log(`\nmode now: ${stats.currentMode}; mode changes: ${stats.modeChanges}; failed: ${stats.failedSwitches}`);
console.log(
  `time in mode (s): ${
    Object.entries(stats.timeInModeMs).map(([mode, ms]) => `${mode} ${(ms / 1000).toFixed(1)}`).join(", ")
  }`,
);
console.log(
  `samples: ${stats.detections}, probe errors: ${stats.probeErrors}, cooldown holds: ${stats.cooldownBlocks}`,
);
