import assert from "node:assert/strict";
import { fromManifest, ManualClock, silentLogger, SystemClock, type TransportConnection } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import { detectRdma } from "../../plugins/transport-rdma/detect.ts";
import { RDMACM_SYMBOLS } from "../../plugins/transport-rdma/symbols.ts";
import transportRdma, { rdmaFramingOptions, rsocketTransport } from "../../plugins/transport-rdma/mod.ts";
import * as v from "valibot";
import { runCompliance } from "../../testing/case.ts";
import { connectedPair, loopbackCompliance } from "../support/connected_pair.ts";
import { fakeRsocketApi } from "../support/fake_rsocket.ts";
import { adaptiveTransport } from "../../plugins/transport-adaptive/mod.ts";
import transportAdaptive from "../../plugins/transport-adaptive/mod.ts";
import { runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";
import { MemoryHost } from "../support/memory_host.ts";

const detected = await detectRdma();

Deno.test("rdma: one symbol table names the rsocket API and device listing", () => {
  for (const name of ["rsocket", "rbind", "rlisten", "raccept", "rconnect", "rsend", "rrecv", "rpoll", "rclose"]) {
    assert.ok(name in RDMACM_SYMBOLS, name);
  }
  assert.equal(RDMACM_SYMBOLS.rrecv.blocking, true, "waiting calls run off the event loop");
});

Deno.test("rdma: detection says why RDMA is unavailable, never throws", async () => {
  const missing = await detectRdma(["libdoes-not-exist.so.1"]);
  assert.equal(missing.available, false);
  if (!missing.available) assert.match(missing.reason, /librdmacm not found.*apt-get install librdmacm1/);
  if (!detected.available) {
    assert.match(detected.reason, /no RDMA device|librdmacm not found|--allow-ffi/);
    console.log(`RDMA here: ${detected.reason}`);
  }
});

Deno.test("rdma: the plugin fails with the detection's reason; the loader records it", async () => {
  const host = new MemoryHost();
  host.write("m.json", JSON.stringify({ plugins: [{ id: "transport-rdma", module: "builtin:transport-rdma" }] }));
  const { BUILTIN_PLUGINS } = await import("../../plugins/builtin.ts");
  const manager = await fromManifest("m.json", {
    host,
    builtins: BUILTIN_PLUGINS,
    logger: silentLogger,
    clock: new ManualClock(),
  });
  const record = manager.getStats().plugins[0];
  assert.equal(record.state, "failed");
  assert.equal(record.stage, "create");
  assert.match(record.reason ?? "", /RDMA unavailable/);
  await assert.rejects(instantiate(transportRdma, {}), /RDMA/);
});

// The data path, over an in-process model of the rsocket API: the full transport suite.
{
  const model = fakeRsocketApi();
  const transport = rsocketTransport(model, v.parse(rdmaFramingOptions, {}), new SystemClock());
  runCompliance("rdma data path (rsocket model)", loopbackCompliance(transport, transport.maxFrameBytes));
}

Deno.test("rdma data path (rsocket model): the frames cross in pieces, and closing releases every rsocket", async () => {
  const model = fakeRsocketApi(4096); // small buffers: partial sends and reads everywhere
  const transport = rsocketTransport(model, v.parse(rdmaFramingOptions, {}), new SystemClock());
  assert.equal(transport.name, "rdma");
  const { client, server, release } = await connectedPair(transport, "127.0.0.1:0");
  const frames = Array.from({ length: 200 }, (_, i) => new Uint8Array(1 + i * 37).fill(i & 0xff));
  const received: Uint8Array[] = [];
  const reading = (async () => {
    for await (const frame of server.frames()) if (received.push(frame) === frames.length) return;
  })();
  for (const frame of frames) await client.send(frame);
  await reading;
  assert.deepEqual(received, frames);
  await release();
  assert.equal(model.open(), 0, "every rsocket closed");
});

// The same suite over real rsockets, where an RDMA device exists.
if (detected.available) {
  const transport = rsocketTransport(detected, v.parse(rdmaFramingOptions, {}), new SystemClock());
  runCompliance(
    "rdma data path (rsockets on this machine's device)",
    loopbackCompliance(transport, transport.maxFrameBytes),
  );
} else {
  Deno.test({
    name: `rdma data path over real rsockets (skipped: ${detected.reason})`,
    ignore: true,
    fn() {},
  });
}

Deno.test("transport-adaptive: falls back to TCP per peer and records which is used and why", async () => {
  const adaptive = await instantiate(transportAdaptive, {});
  const stats = adaptive.stats();
  assert.equal(stats.rdma.available, false);
  assert.ok((stats.rdma.reason ?? "").length > 0);
  const listener = await adaptive.listen("127.0.0.1:0");
  const accepted = listener.connections()[Symbol.asyncIterator]().next();
  const client = await adaptive.dial(listener.address);
  const server = (await accepted).value as TransportConnection;
  await client.send(new Uint8Array([9]));
  assert.deepEqual((await server.frames()[Symbol.asyncIterator]().next()).value, new Uint8Array([9]));
  assert.deepEqual(adaptive.stats().peers, { [listener.address]: "tcp" });
  await client.close();
  await server.close();
  await listener.close();
});

Deno.test("transport-adaptive: an RDMA transport that cannot reach a peer falls back to TCP for it", async () => {
  const tcp = tcpTransport(
    await runtimeSockets(),
    { maxFrameBytes: 1 << 20, highWaterBytes: 1 << 20, dialAttempts: 1, initialBackoffMs: 0, maxBackoffMs: 0 },
    new SystemClock(),
  );
  const failingRdma = {
    name: "rdma",
    maxFrameBytes: 1 << 20,
    listen: () => Promise.reject(new Error("x")),
    dial: () => Promise.reject(new Error("no route over RDMA")),
  };
  const adaptive = adaptiveTransport(tcp, { transport: failingRdma });
  const listener = await tcp.listen("127.0.0.1:0");
  const connection = await adaptive.dial(listener.address);
  assert.equal(adaptive.stats().peers[listener.address], "tcp");
  assert.equal(adaptive.stats().rdma.available, true);
  await connection.close();
  await listener.close();
});

Deno.test("transport-adaptive: with RDMA available it dials over RDMA and accepts over both", async () => {
  const clock = new SystemClock();
  const tcp = tcpTransport(await runtimeSockets(), v.parse(rdmaFramingOptions, {}), clock);
  const rdma = rsocketTransport(fakeRsocketApi(), v.parse(rdmaFramingOptions, {}), clock);
  const adaptive = adaptiveTransport(tcp, { transport: rdma }, silentLogger);
  const listener = await adaptive.listen("127.0.0.1:0");
  const incoming = listener.connections()[Symbol.asyncIterator]();
  try {
    const overRdma = await adaptive.dial(listener.address);
    const overTcp = await tcp.dial(listener.address);
    assert.deepEqual(adaptive.stats().peers, { [listener.address]: "rdma" });
    assert.deepEqual(adaptive.stats().rdma, { available: true });
    const accepted = [(await incoming.next()).value, (await incoming.next()).value] as TransportConnection[];
    await overRdma.send(new Uint8Array([1]));
    await overTcp.send(new Uint8Array([2]));
    const firsts = await Promise.all(
      accepted.map(async (c) => (await c.frames()[Symbol.asyncIterator]().next()).value![0]),
    );
    assert.deepEqual(firsts.sort(), [1, 2]);
    for (const connection of [overRdma, overTcp, ...accepted]) await connection.close();
  } finally {
    await listener.close();
  }
});
