// Runs inside a network namespace: measures bandwidth to the peer given (three rounds, windowed max), prints JSON.
import { SystemClock } from "../../core/util/clock.ts";
import { bandwidthProbe } from "../../plugins/probe-bandwidth/mod.ts";
import { runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";
import { argv, exit } from "node:process";

const peer = argv.at(-1)!;
const clock = new SystemClock();
const transport = tcpTransport(
  await runtimeSockets(),
  { maxFrameBytes: 1 << 20, highWaterBytes: 4 << 20, dialAttempts: 20, initialBackoffMs: 50, maxBackoffMs: 200 },
  clock,
);
const probe = bandwidthProbe(transport, clock, {
  name: "bandwidth",
  peers: [peer],
  budgetBytes: 4 * 1024 * 1024,
  chunkBytes: 64 * 1024,
  timeoutMs: 10_000,
  filterWindow: 3,
});
let sample = {};
for (let round = 0; round < 3; round++) sample = await probe.measure();
console.log(JSON.stringify({ sample, peers: probe.peers() }));
await probe.close();
exit(0);
