import assert from "node:assert/strict";
import { ManualClock, SystemClock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Compressor } from "../../core/contracts/compressor.ts";
import { decodeFrameHeader } from "../../core/contracts/frame.ts";
import type { Mode } from "../../core/contracts/mode.ts";
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";
import { type ZstdCompressor, zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { MemoryEndpoint } from "../../plugins/transport-memory/connection.ts";
import linksPlugin, { linkCompressedTransport } from "../../plugins/transport-links/mod.ts";
import { lengthPrefixed } from "../../plugins/transport-kit/length_prefix.ts";
import { instantiate } from "../../testing/mod.ts";
import { runCompliance } from "../../testing/case.ts";
import { transportCompliance } from "../../testing/transport.ts";
import { connectedPair } from "../support/connected_pair.ts";
import { wrapConnection, wrapTransport } from "../support/wrapped_transport.ts";

const zstd: ZstdCompressor = await zstdCompressor({ level: 3 });
const compressors = { datacenter: lz4Compressor(), hybrid: noneCompressor(), internet: zstd as Compressor };
const TEXT = new TextEncoder().encode(JSON.stringify({ key: "user:42", value: "lorem ipsum ".repeat(100) }));

/** Records, for every frame crossing `inner`, the codec its header names. */
function tapped(inner: Transport): Transport & { codecs: string[] } {
  const codecs: string[] = [];
  const dialed = (connection: TransportConnection) =>
    wrapConnection(connection, {
      send: (frame) => {
        codecs.push(decodeFrameHeader(frame, 1 << 30).codec);
        return connection.send(frame);
      },
    });
  return Object.assign(wrapTransport(inner, { dialed }), { codecs });
}

{
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 21 });
  const transport = linkCompressedTransport(network.transport("links-client"), {
    clock: new SystemClock(),
    compressors,
    // The stored path (no compression): the suite's 1 GiB of repeated bytes would compress to nothing and never
    // press on the sender; what compression does is checked below.
    modeOf: () => "hybrid",
  });
  let port = 0;
  const cases = transportCompliance({
    maxFrameBytes: transport.maxFrameBytes,
    pair: () => connectedPair(transport, `links-${++port}-wan`),
    writeRaw: () => {
      throw new Error("covered by the garbage test below");
    },
    dialNowhere: () => transport.dial("nobody-listens-here"),
  }).filter((check) => !check.name.startsWith("a malformed frame"));
  runCompliance("transport-links over transport-memory", cases);
}

async function receive(connection: TransportConnection, count: number): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  for await (const frame of connection.frames()) {
    frames.push(frame);
    if (frames.length === count) break;
  }
  return frames;
}

Deno.test("transport-links: each link compresses with its own mode's compressor, at the same time; the peer decodes both", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 22 });
  const inner = tapped(network.transport("a"));
  const transport = linkCompressedTransport(inner, {
    clock: new ManualClock(),
    compressors,
    modeOf: (address) => address === "b-wan" ? "internet" : "datacenter",
    linkOf: (address) => `probe-of-${address}`,
  });
  const rackListener = await network.transport("b").listen("b-rack");
  const wanListener = await transport.listen("b-wan");
  const accepted = [rackListener, wanListener].map((listener) => listener.connections()[Symbol.asyncIterator]().next());
  const rack = await transport.dial("b-rack");
  const wan = await transport.dial("b-wan");
  try {
    const wanEnd = (await accepted[1]).value as TransportConnection;
    await rack.send(TEXT);
    await wan.send(TEXT);
    assert.deepEqual(inner.codecs, ["lz4", "zstd"]);
    // The compressed end decodes what its peer chose.
    assert.deepEqual(await receive(wanEnd, 1), [TEXT]);
    const links = transport.links();
    assert.equal(links["b-rack"].mode, "datacenter");
    assert.equal(links["b-wan"].codec, "zstd");
    assert.equal(links["b-wan"].link, "probe-of-b-wan");
    assert.ok(links["b-wan"].bytesOut < links["b-wan"].bytesIn, "zstd made the text smaller");
  } finally {
    await Promise.all([rack.close(), wan.close(), rackListener.close(), wanListener.close()]);
  }
});

Deno.test("transport-links: a link whose mode changes moves its frames in steps (10 %, 50 %, 100 %), each held, in order", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 23 });
  const inner = tapped(network.transport("a"));
  let mode: Mode = "datacenter";
  const transport = linkCompressedTransport(inner, { clock, compressors, modeOf: () => mode, holdMs: 1_000 });
  const { client: connection, server, release } = await connectedPair(transport, "b");
  try {
    const frame = (i: number) => new TextEncoder().encode(`frame ${i} ${"x".repeat(i % 50)}`);
    let sent = 0;
    const sendSome = async (count: number) => {
      for (let i = 0; i < count; i++) await connection.send(frame(sent++));
    };
    await sendSome(10);
    mode = "internet";
    const zstdShare = async () => {
      const before = inner.codecs.length;
      await sendSome(100);
      return inner.codecs.slice(before).filter((codec) => codec === "zstd").length;
    };
    assert.equal(await zstdShare(), 10, "10 % in the first step");
    await clock.advance(1_000);
    assert.equal(await zstdShare(), 50, "50 % once it held");
    await clock.advance(1_000);
    assert.equal(await zstdShare(), 100, "every frame at the last step");
    await clock.advance(1_000);
    await sendSome(1);
    const status = transport.links()["b"];
    assert.equal(status.mode, "internet");
    assert.equal(status.moving, undefined);
    assert.deepEqual(status.history.map((entry) => `${entry.event} ${entry.share}`), [
      "step 0.1",
      "step 0.5",
      "step 1",
      "completed 1",
    ]);
    const received = await receive(server, sent);
    assert.deepEqual(
      received.map((bytes) => new TextDecoder().decode(bytes)),
      received.map((_, i) => new TextDecoder().decode(frame(i))),
    );
  } finally {
    await release();
  }
});

Deno.test("transport-links: a compressor that fails during a step rolls the link back, the frame goes on the old one, and nothing is lost", async () => {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 24 });
  let mode: Mode = "datacenter";
  let failures = 0;
  const broken: Compressor = {
    codec: "zstd",
    compress: () => {
      failures++;
      return Promise.reject(new Error("out of memory"));
    },
    decompress: (frame) => zstd.decompress(frame),
  };
  const transport = linkCompressedTransport(network.transport("a"), {
    clock,
    compressors: { ...compressors, internet: broken },
    modeOf: () => mode,
    retryAfterMs: 5_000,
    minCompressBytes: 0,
  });
  const { client: connection, server, release } = await connectedPair(transport, "b");
  try {
    mode = "internet";
    for (let i = 0; i < 30; i++) await connection.send(new Uint8Array([i]));
    assert.equal(failures, 1, "one failure rolls back; no more tries until retryAfterMs");
    const status = transport.links()["b"];
    assert.equal(status.mode, "datacenter");
    assert.deepEqual(status.history.map((entry) => entry.event), ["step", "rolled-back"]);
    assert.match(status.history[1].reason, /zstd failed: out of memory/);
    assert.deepEqual((await receive(server, 30)).map((bytes) => bytes[0]), Array.from({ length: 30 }, (_, i) => i));
    await clock.advance(5_000);
    for (let i = 0; i < 10; i++) await connection.send(new Uint8Array([99]));
    assert.equal(failures, 2, "tried again after retryAfterMs (one frame in ten at the first step)");
  } finally {
    await release();
  }
});

Deno.test("transport-links: frames under minCompressBytes go stored, the codec not even tried; the peer reads them", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 27 });
  let tried = 0;
  const counting: Compressor = {
    codec: "zstd",
    compress: (data) => (tried++, zstd.compress(data)),
    decompress: (frame) => zstd.decompress(frame),
  };
  const transport = linkCompressedTransport(network.transport("a"), {
    clock: new ManualClock(),
    compressors: { ...compressors, internet: counting },
    modeOf: () => "internet",
    minCompressBytes: 256,
  });
  const { client: connection, server, release } = await connectedPair(transport, "b");
  try {
    const small = new TextEncoder().encode("a consensus message of a few bytes");
    await connection.send(small);
    assert.equal(tried, 0);
    await connection.send(TEXT);
    assert.equal(tried, 1);
    assert.deepEqual(await receive(server, 2), [small, TEXT]);
  } finally {
    await release();
  }
});

Deno.test("transport-links: small frames sent while a large one is still compressing wait their turn; every frame in order", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 28 });
  const slow: Compressor = {
    codec: "zstd",
    compress: async (data) => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      return await zstd.compress(data);
    },
    decompress: (frame) => zstd.decompress(frame),
  };
  const transport = linkCompressedTransport(network.transport("a"), {
    clock: new ManualClock(),
    compressors: { ...compressors, internet: slow },
    modeOf: () => "internet",
  });
  const { client: connection, server, release } = await connectedPair(transport, "b");
  try {
    // Not awaited one by one: a large frame (compressed, slowly), then small ones (stored at once), and so on.
    const frames = Array.from({ length: 60 }, (_, i) => {
      const bytes = new Uint8Array(i % 3 === 0 ? 4_096 : 16).fill(i);
      new DataView(bytes.buffer).setUint16(0, i);
      return bytes;
    });
    await Promise.all(frames.map((frame) => connection.send(frame)));
    const received = await receive(server, frames.length);
    assert.deepEqual(
      received.map((bytes) => new DataView(bytes.buffer, bytes.byteOffset).getUint16(0)),
      frames.map((_, i) => i),
    );
  } finally {
    await release();
  }
});

Deno.test("transport-links: every frame given to a failing new compressor falls back, those under way included; one rollback", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 29 });
  let mode: Mode = "datacenter";
  const failing: Compressor = {
    codec: "zstd",
    compress: async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      throw new Error("worker died");
    },
    decompress: (frame) => zstd.decompress(frame),
  };
  const transport = linkCompressedTransport(network.transport("a"), {
    clock: new ManualClock(),
    compressors: { ...compressors, internet: failing },
    modeOf: () => mode,
    steps: [1],
  });
  const { client: connection, server, release } = await connectedPair(transport, "b");
  try {
    mode = "internet";
    const frames = Array.from({ length: 20 }, (_, i) => new Uint8Array(2_048).fill(i));
    // All at once: twenty frames compressing with the new compressor when the first fails.
    await Promise.all(frames.map((frame) => connection.send(frame)));
    assert.deepEqual((await receive(server, 20)).map((bytes) => bytes[0]), frames.map((_, i) => i));
    const history = transport.links()["b"].history;
    assert.deepEqual(history.map((entry) => entry.event), ["step", "rolled-back"]);
    assert.equal(transport.links()["b"].mode, "datacenter");
  } finally {
    await release();
  }
});

Deno.test("transport-links: a frame whose compressor fails while an earlier one still compresses rejects its send, handled; the earlier one arrives", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 30 });
  const picky: Compressor = {
    codec: "lz4",
    compress: async (data) => {
      if (data[0] === 1) throw new Error("this one cannot be compressed");
      await new Promise((resolve) => setTimeout(resolve, 5));
      return await compressors.datacenter.compress(data);
    },
    decompress: (frame) => compressors.datacenter.decompress(frame),
  };
  const transport = linkCompressedTransport(network.transport("a"), {
    clock: new ManualClock(),
    compressors: { ...compressors, datacenter: picky },
    modeOf: () => "datacenter",
  });
  const { client: connection, server, release } = await connectedPair(transport, "b");
  try {
    const slow = connection.send(new Uint8Array(2_048).fill(0));
    // The caller handles its send at once; what must not be left unhandled is the library's own promise.
    const failing = connection.send(new Uint8Array(2_048).fill(1)).then(() => undefined, (error: Error) => error);
    // Its rejection comes while the first still compresses; nothing may be left unhandled meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await slow;
    assert.match(String(await failing), /cannot be compressed/);
    assert.equal((await receive(server, 1))[0][0], 0);
  } finally {
    await release();
  }
});

Deno.test("transport-links: bytes that are not a frame, or a codec nobody here decodes, fail the connection with FRAME_INVALID", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 25 });
  const raw = network.transport("raw");
  const transport = linkCompressedTransport(network.transport("b"), {
    clock: new SystemClock(),
    compressors,
    modeOf: () => "datacenter",
  });
  for (const garbage of [new Uint8Array([1, 2, 3, 4, 5]), await foreignFrame()]) {
    const listener = await transport.listen("garbage");
    const accepted = listener.connections()[Symbol.asyncIterator]().next();
    const client = await raw.dial("garbage");
    const server = (await accepted).value as TransportConnection;
    try {
      (client as MemoryEndpoint).writeRaw(lengthPrefixed(garbage));
      await assert.rejects(
        async () => {
          for await (const _ of server.frames()) { /* nothing valid */ }
        },
        (error: unknown) => error instanceof SwitchyardError && error.code === "FRAME_INVALID",
      );
    } finally {
      await Promise.all([client.close(), listener.close()]);
    }
  }
});

/** A well-formed frame of a codec no compressor of the test has. */
async function foreignFrame(): Promise<Uint8Array> {
  const frame = await lz4Compressor().compress(TEXT);
  const renamed = new Uint8Array(frame);
  renamed.set(new TextEncoder().encode("lz5"), 4); // the codec name, same length: the checksum no longer holds
  return renamed;
}

Deno.test("transport-links plugin: follows context.linkMode for each link by its probe name", async () => {
  const network = new MemoryNetwork({ clock: new SystemClock(), seed: 26 });
  const inner = tapped(network.transport("a"));
  const transport = await instantiate(linksPlugin, { links: { "b-transport": "b-probe" } }, {
    provided: {
      "transport:adaptive": inner,
      "compressor:lz4": compressors.datacenter,
      "compressor:zstd": compressors.internet,
      "compressor:adaptive": compressors.hybrid,
    },
    linkModes: { "b-probe": "internet" },
  });
  const listener = await network.transport("b").listen("b-transport");
  const connection = await transport.dial("b-transport");
  try {
    await connection.send(TEXT);
    assert.deepEqual(inner.codecs, ["zstd"]);
  } finally {
    await Promise.all([connection.close(), listener.close()]);
  }
  await assert.rejects(
    () => instantiate(linksPlugin, { steps: [0.5] }, {}),
    (error: Error) => /steps/.test(error.message) && /must end at 1/.test(error.message),
  );
});

Deno.test("transport-links: cleanup", async () => {
  await zstd.close?.();
});
