import { SystemClock } from "./core/clock.ts";
import { MemoryNetwork } from "./plugins/transport-memory/network.ts";
import { transportCompliance } from "./tests/compliance/transport.ts";
import type { TransportConnection } from "./core/transport.ts";
import type { MemoryEndpoint } from "./plugins/transport-memory/connection.ts";
const network = new MemoryNetwork({
  clock: new SystemClock(),
  seed: 5,
  defaultLink: { delayMs: 1, bandwidthMbps: 1000, lossRatio: 0.01 },
});
let n = 0;
const cases = transportCompliance({
  maxFrameBytes: 2 << 20,
  pair: async () => {
    const address = `s${++n}`;
    const listener = await network.transport(address).listen(address);
    const acc = listener.connections()[Symbol.asyncIterator]().next();
    const client = await network.transport("c").dial(address);
    const server = (await acc).value as TransportConnection;
    return {
      client,
      server,
      release: async () => {
        await listener.close();
      },
    };
  },
  writeRaw: (c, b) => (c as MemoryEndpoint).writeRaw(b),
  dialNowhere: () => network.transport("c").dial("zz"),
});
try {
  await cases[0].run();
  console.log("ok");
} catch (e) {
  console.log(String(e).slice(0, 300));
}
