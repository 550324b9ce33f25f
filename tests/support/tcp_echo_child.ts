// A TCP listener in its own process, for tests that exhaust its descriptors (run under a low `ulimit -n`).
// Prints one JSON line per event on stdout: {"listening": address}, {"exhausted": true} the first time the
// process cannot open a file after an accept, {"warn": message, "code": ...} for each warning logged.
// Echoes every frame; answers the frame "stats" with the transport's stats() as JSON.
import { closeSync, openSync } from "node:fs";
import { SystemClock } from "../../core/clock.ts";
import type { Logger } from "../../core/logger.ts";
import { runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";

const say = (event: Record<string, unknown>) => console.log(JSON.stringify(event));
const logger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => say({ warn: message, ...fields }),
  error: (message, fields) => say({ error: message, ...fields }),
};
const transport = tcpTransport(
  await runtimeSockets(),
  {
    maxFrameBytes: 1 << 20,
    highWaterBytes: 1 << 20,
    dialAttempts: 1,
    initialBackoffMs: 0,
    maxBackoffMs: 0,
    maxConnections: 10_000,
  },
  new SystemClock(),
  logger,
);
const listener = await transport.listen("127.0.0.1:0");
say({ listening: listener.address });
const STATS = new TextEncoder().encode("stats");
let exhausted = false;
for await (const connection of listener.connections()) {
  if (!exhausted) {
    try {
      closeSync(openSync("/dev/null", "r"));
    } catch {
      exhausted = true;
      say({ exhausted: true });
    }
  }
  (async () => {
    for await (const frame of connection.frames()) {
      const isStats = frame.length === STATS.length && frame.every((byte, i) => byte === STATS[i]);
      await connection.send(isStats ? new TextEncoder().encode(JSON.stringify(transport.stats())) : frame);
    }
  })().catch(() => {/* a connection the test cut */});
}
