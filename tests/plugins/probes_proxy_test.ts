// Probe accuracy across processes' worth of real TCP: the probes dial a
// delaying proxy (user-space link emulation: this kernel has no netem) in front
// of a responder, over transport-tcp.
import assert from "node:assert/strict";
import { SystemClock } from "../../mod.ts";
import { runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";
import { serveProbes } from "../../plugins/probes/responder.ts";
import { rttProbe } from "../../plugins/probe-rtt/mod.ts";
import { bandwidthProbe } from "../../plugins/probe-bandwidth/mod.ts";
import { parseAddress } from "../../plugins/transport-tcp/mod.ts";
import { startLinkProxy } from "../../tools/link_proxy.ts";

Deno.test("probes through the delaying TCP proxy: RTT within 10 % (or 1 ms), bandwidth within 15 %", async () => {
  const clock = new SystemClock();
  const transport = tcpTransport(
    await runtimeSockets(),
    { maxFrameBytes: 1 << 20, highWaterBytes: 4 << 20, dialAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
    clock,
  );
  const responder = await serveProbes(transport, "127.0.0.1:0");
  const target = parseAddress(responder.address);
  const delayMs = 10;
  const bandwidthMbps = 100;
  const proxy = await startLinkProxy({
    port: 0,
    target: { host: target.hostname, port: target.port },
    link: { delayMs, bandwidthMbps },
  });
  const peer = `127.0.0.1:${proxy.port}`;
  // As the manager runs them: rounds of both probes, each filtered over the last three rounds (the RTT by a
  // windowed minimum, the bandwidth by a windowed maximum), so a round that a busy machine slowed down does not show.
  const rtt = rttProbe(transport, clock, {
    name: "rtt",
    pings: 7,
    pingTimeoutMs: 1_000,
    filterWindow: 3,
    peers: [peer],
  });
  const bandwidth = bandwidthProbe(transport, clock, {
    name: "bandwidth",
    budgetBytes: 2 * 1024 * 1024,
    chunkBytes: 64 * 1024,
    timeoutMs: 5_000,
    filterWindow: 3,
    peers: [peer],
  });
  try {
    let measuredRtt = 0;
    let measured = 0;
    for (let round = 0; round < 3; round++) {
      measuredRtt = (await rtt.measure()).rttMs!;
      measured = (await bandwidth.measure()).bandwidthMbps!;
    }
    const expectedRtt = 2 * delayMs;
    assert.ok(
      Math.abs(measuredRtt - expectedRtt) <= Math.max(0.1 * expectedRtt, 1),
      `RTT ${measuredRtt} vs ${expectedRtt}`,
    );
    const error = Math.abs(measured - bandwidthMbps) / bandwidthMbps;
    assert.ok(
      error <= 0.15,
      `bandwidth ${measured.toFixed(1)} vs ${bandwidthMbps} Mbps (${(error * 100).toFixed(1)} % off)`,
    );
  } finally {
    await rtt.close();
    await bandwidth.close();
    await proxy.close();
    await responder.close();
  }
});
