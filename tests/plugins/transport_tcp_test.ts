import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { SystemClock, type TransportConnection, ValidationError } from "../../mod.ts";
import { runCompliance } from "../../testing/mod.ts";
import { pluginCompliance } from "../../testing/plugin.ts";
import transportTcp, { parseAddress, runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";
import { systemCongestionControl } from "../../plugins/transport-tcp/congestion.ts";
import { connectedPair, loopbackCompliance } from "../support/connected_pair.ts";

const run = promisify(execFile);
const sockets = await runtimeSockets();
const clock = new SystemClock();
const MAX_FRAME = 2 * 1024 * 1024;
const transport = tcpTransport(
  await runtimeSockets(),
  {
    maxFrameBytes: MAX_FRAME,
    highWaterBytes: 4 * 1024 * 1024,
    dialAttempts: 1,
    initialBackoffMs: 10,
    maxBackoffMs: 100,
  },
  new SystemClock(),
);

const tcpPair = () => connectedPair(transport, "127.0.0.1:0");

runCompliance("transport-tcp (plugin)", pluginCompliance(transportTcp));
runCompliance("transport-tcp (loopback)", loopbackCompliance(transport, MAX_FRAME));

Deno.test("transport-tcp: a malformed prefix from a raw socket closes that connection with FRAME_TOO_LARGE", async () => {
  const sockets = await runtimeSockets();
  const listener = await transport.listen("127.0.0.1:0");
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const { hostname, port } = parseAddress(listener.address);
  const raw = await sockets.connect(hostname, port);
  raw.onData = () => {};
  raw.onEnd = () => {};
  raw.start();
  const server = (await accepted).value as TransportConnection;
  const forged = new Uint8Array(8);
  new DataView(forged.buffer).setUint32(0, 0xffffffff, true);
  await raw.write(forged);
  await assert.rejects(
    (async () => {
      for await (const _ of server.frames()) { /* nothing valid */ }
    })(),
    (error: unknown) => (error as { code?: string }).code === "FRAME_TOO_LARGE",
  );
  await server.closed;
  raw.destroy();
  assert.equal(transport.stats().framesTooLarge, 1, "counted");
  // The listener and new connections are unaffected.
  const { client, server: fresh, release } = await tcpPair();
  await client.send(new Uint8Array([1, 2, 3]));
  const frame = await fresh.frames()[Symbol.asyncIterator]().next();
  assert.deepEqual(frame.value, new Uint8Array([1, 2, 3]));
  await release();
  await listener.close();
});

Deno.test("transport-tcp: addresses are host:port", () => {
  assert.deepEqual(parseAddress("127.0.0.1:7000"), { hostname: "127.0.0.1", port: 7000 });
  assert.deepEqual(parseAddress("[::1]:80"), { hostname: "::1", port: 80 });
  assert.throws(() => parseAddress("localhost"), /host:port/);
  assert.throws(() => parseAddress("h:99999"), /host:port/);
});

Deno.test("transport-tcp: reports the kernel's congestion control, and a live connection runs it (ss -tin)", async () => {
  const congestion = systemCongestionControl();
  assert.equal(transport.congestionControl, congestion);
  assert.equal(systemCongestionControl("/nonexistent"), "unknown");
  let ss: string;
  try {
    ss = (await run("ss", ["-V"])).stdout;
  } catch {
    console.warn("ss (iproute2) is not installed: skipping the per-socket check");
    return;
  }
  assert.ok(ss.length > 0);
  const { client, server, release } = await tcpPair();
  try {
    await client.send(new Uint8Array(64 * 1024));
    await server.frames()[Symbol.asyncIterator]().next();
    const port = client.localAddress.split(":").pop();
    const { stdout } = await run("ss", ["-tin", `sport = :${port}`]);
    assert.match(stdout, new RegExp(`\\b${congestion}\\b`), `ss -tin for port ${port}:\n${stdout}`);
  } finally {
    await release();
  }
});

Deno.test("transport-tcp: dialing retries with backoff before giving up", async () => {
  const retrying = tcpTransport(
    await runtimeSockets(),
    { maxFrameBytes: MAX_FRAME, highWaterBytes: 1 << 20, dialAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 10 },
    new SystemClock(),
  );
  const listener = await retrying.listen("127.0.0.1:0");
  const address = listener.address;
  await listener.close();
  await assert.rejects(retrying.dial(address), /after 3 attempt\(s\)/);
  assert.equal(retrying.stats().dialRetries, 2);
});

Deno.test("transport-tcp: a partial-frame budget below maxFrameBytes is refused, naming the field", () => {
  const base = {
    maxFrameBytes: 1 << 20,
    highWaterBytes: 1 << 20,
    dialAttempts: 1,
    initialBackoffMs: 0,
    maxBackoffMs: 0,
  };
  assert.throws(
    () => tcpTransport(sockets, { ...base, maxPartialFrameBytes: 1000 }, clock),
    (error: unknown) => error instanceof ValidationError && error.issues[0].path === "maxPartialFrameBytes",
  );
  // Left out, it is 128 MiB or maxFrameBytes, whichever is larger: a large frame limit works as it did.
  const large = tcpTransport(sockets, { ...base, maxFrameBytes: 256 << 20 }, clock);
  assert.equal(large.maxFrameBytes, 256 << 20);
});
