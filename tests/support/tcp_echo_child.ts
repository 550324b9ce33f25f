// A TCP listener in its own process, for tests that attack it: run under a low `ulimit -n` to exhaust its
// descriptors, or flooded with stalled frames while its peak memory is watched. The last argument is JSON of
// transport-tcp options (merged over small defaults). Prints one JSON line per event on stdout:
// {"listening": address}, {"exhausted": true} the first time the process cannot open a file after an accept,
// {"warn": message, ...fields} for each warning logged. Echoes every frame; answers the frame "stats" with the
// transport's stats(), how each connection that ended did ({ code: count }), and its resident memory now and at
// its peak (VmRSS, VmHWM).
import { closeSync, openSync, readFileSync } from "node:fs";
import { argv } from "node:process";
import { SystemClock } from "../../core/util/clock.ts";
import type { Logger } from "../../core/util/logger.ts";
import { runtimeSockets, tcpTransport, type TcpTransportConfig } from "../../plugins/transport-tcp/mod.ts";

const say = (event: Record<string, unknown>) => console.log(JSON.stringify(event));
const logger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => say({ warn: message, ...fields }),
  error: (message, fields) => say({ error: message, ...fields }),
};
const options: TcpTransportConfig = {
  maxFrameBytes: 1 << 20,
  highWaterBytes: 1 << 20,
  dialAttempts: 1,
  initialBackoffMs: 0,
  maxBackoffMs: 0,
  maxConnections: 10_000,
  ...JSON.parse(argv.at(-1) ?? "{}"),
};
const transport = tcpTransport(await runtimeSockets(), options, new SystemClock(), logger);

/** A line of /proc/self/status in bytes, e.g. `VmHWM` (the peak resident set). */
const statusBytes = (field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))?.[1]) * 1024;

const outcomes: Record<string, number> = {};
const STATS = new TextEncoder().encode("stats");
const listener = await transport.listen("127.0.0.1:0");
say({ listening: listener.address });
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
    try {
      for await (const frame of connection.frames()) {
        const isStats = frame.length === STATS.length && frame.every((byte, i) => byte === STATS[i]);
        const reply = isStats
          ? {
            ...transport.stats(),
            outcomes,
            rssBytes: statusBytes("VmRSS"),
            peakRssBytes: statusBytes("VmHWM"),
          }
          : undefined;
        await connection.send(reply ? new TextEncoder().encode(JSON.stringify(reply)) : frame);
      }
      outcomes.ended = (outcomes.ended ?? 0) + 1;
    } catch (error) {
      const code = String((error as { code?: string }).code);
      outcomes[code] = (outcomes[code] ?? 0) + 1;
    }
  })();
}
