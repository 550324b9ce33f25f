// Runs inside a network namespace: answers probes at the address given, prints "ready".
import { SystemClock } from "../../core/util/clock.ts";
import { serveProbes } from "../../plugins/probes/responder.ts";
import { runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";
import { argv } from "node:process";

const address = argv.at(-1)!;
const transport = tcpTransport(
  await runtimeSockets(),
  { maxFrameBytes: 1 << 20, highWaterBytes: 4 << 20, dialAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
  new SystemClock(),
);
await serveProbes(transport, address);
console.log("ready");
