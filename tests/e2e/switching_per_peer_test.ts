/**
 * Switching under load with per-peer modes and gradual transitions on
 * (issue 17): one manager with `linkModes: "per-peer"` measures four peers,
 * two in its rack and two across a WAN, whose links keep changing in every
 * direction (datacenter ⇄ hybrid ⇄ internet). Each link is a steered
 * connection under per-link compression (`transport-links`' wrapper): on
 * every `link-mode` event its compressor follows in steps, and its
 * transport moves gradually to a path over the new mode's link (10 %,
 * 50 %, 100 %, each held and judged); every fourth new path dies at its
 * first step and must roll back. Numbered frames stream to every peer the
 * whole time: each must arrive exactly once, in order, intact; the rack and
 * WAN links must be seen on different modes at the same time.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  HybridManager,
  type LinkChange,
  type Mode,
  MODES,
  type NetworkSample,
  type Probe,
  silentLogger,
  SystemClock,
} from "../../mod.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { lz4Compressor } from "../../plugins/compress-lz4/mod.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";
import { zstdCompressor } from "../../plugins/compress-zstd/mod.ts";
import { type GradualReport, listenSteered, SteeredConnection } from "../../plugins/transport-kit/steered.ts";
import { dialSteered } from "../../plugins/transport-kit/steered.ts";
import { linkCompressedTransport } from "../../plugins/transport-links/mod.ts";
import { type LinkModel, MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { LINKS } from "../support/scripted_probe.ts";
import { severable } from "../support/severable_transport.ts";

const PEERS = ["rack-1", "rack-2", "wan-1", "wan-2"] as const;
type Peer = typeof PEERS[number];
/** Each round sets every link; the rack links and the WAN links take turns through every direction. */
const RACK_PLAN: readonly Mode[] = ["datacenter", "hybrid", "datacenter", "internet", "hybrid", "internet"];
const WAN_PLAN: readonly Mode[] = ["internet", "internet", "hybrid", "datacenter", "datacenter", "hybrid"];
const ROUNDS = 18;
const LINK_MODELS: Record<Mode, Partial<LinkModel>> = {
  datacenter: {},
  hybrid: { delayMs: 0.5, jitterMs: 0.25 },
  internet: { delayMs: 2, jitterMs: 1 },
};
const GRADUAL = { steps: [0.1, 0.5, 1], holdMs: 25, ackTimeoutMs: 500, latencySlackMs: 50, maxLatencyRatio: 20 };

function payload(peer: number, sequence: number): Uint8Array {
  const text = `peer ${peer} frame ${sequence} ${"lorem ipsum dolor ".repeat(1 + (sequence % 7))}`;
  return new TextEncoder().encode(text);
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

Deno.test({
  name:
    "switching under load, per-peer: rack and WAN links on their own modes at once, each link's transport moved gradually (a fourth of the new paths failing at their first step, rolled back) and its compressor following; every frame once, in order",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const clock = new SystemClock();
    const network = new MemoryNetwork({ clock, seed: 31 });
    // Every peer listens on one address per mode; a path to it crosses that mode's link model.
    const sender = severable(network.transport("sender"));
    const pathListeners: TransportListener[] = [];
    for (const peer of PEERS) {
      for (const mode of MODES) {
        network.setLink("sender", `${peer}-${mode}`, LINK_MODELS[mode]);
        pathListeners.push(await network.transport(`${peer}-${mode}`).listen(`${peer}-${mode}`));
      }
    }
    const steered = new Map<string, SteeredConnection>();
    // Steered connections, as a transport: a dial opens one on its first path; a listen merges a peer's paths.
    const steeredTransport: Transport = {
      name: "steered",
      maxFrameBytes: 1 << 20,
      dial: async (address) => {
        const connection = await dialSteered(sender, address, { clock, ackDelayMs: 1, maxUnackedBytes: 256 * 1024 });
        steered.set(address, connection);
        return connection;
      },
      listen: (peer) =>
        Promise.resolve(
          listenSteered(pathListeners.filter((listener) => listener.address.startsWith(`${peer}-`)), 1 << 20, {
            clock,
            ackDelayMs: 1,
          }),
        ),
    };

    const conditions: Record<Peer, NetworkSample> = {
      "rack-1": LINKS.datacenter,
      "rack-2": LINKS.datacenter,
      "wan-1": LINKS.datacenter,
      "wan-2": LINKS.datacenter,
    };
    const probe: Probe = {
      name: "peers",
      measure: () => Promise.resolve({ rttMs: 1 }),
      peers: () => ({ ...conditions }),
    };
    const manager = new HybridManager({
      clock,
      probes: [probe],
      logger: silentLogger,
      config: {
        linkModes: "per-peer",
        initialMode: "datacenter",
        detectionIntervalMs: 5,
        probeTimeoutMs: 5,
        sampleWindow: 1,
        cooldownMs: 0,
      },
    });
    const zstd = await zstdCompressor({ level: 3 });
    const compressors = { datacenter: lz4Compressor(), hybrid: noneCompressor(), internet: zstd };
    // A dialed address is `<peer>-datacenter`: the link is the peer.
    const peerOf = (address: string) => address.slice(0, address.lastIndexOf("-"));
    const links = linkCompressedTransport(steeredTransport, {
      clock,
      compressors,
      modeOf: (address) => address === undefined ? "datacenter" : manager.linkMode(peerOf(address)),
      linkOf: peerOf,
      holdMs: 25,
    });

    const receivers = await Promise.all(PEERS.map((peer) => links.listen(peer)));
    const accepted = receivers.map((listener) => listener.connections()[Symbol.asyncIterator]().next());
    const connections: TransportConnection[] = [];
    for (const peer of PEERS) connections.push(await links.dial(`${peer}-datacenter`));
    const serverEnds = await Promise.all(accepted.map(async (next) => (await next).value as TransportConnection));

    // Gradual switches, one at a time per link, towards the link's latest mode.
    const reports: GradualReport[] = [];
    const switching = new Map<Peer, Promise<void>>();
    const pathMode = new Map<Peer, Mode>(PEERS.map((peer) => [peer, "datacenter"]));
    let newPaths = 0;
    const follow = (peer: Peer): Promise<void> => {
      const running = switching.get(peer) ?? Promise.resolve();
      const next = running.then(async () => {
        const to = manager.linkMode(peer);
        if (pathMode.get(peer) === to) return;
        const failing = ++newPaths % 4 === 0;
        const report = await steered.get(`${peer}-datacenter`)!.switchTo(async () => {
          const connection = await sender.dial(`${peer}-${to}`);
          if (failing) {
            // Dies a few frames into its first step, abruptly: what it took is lost with it.
            let frames = 0;
            const send = connection.send.bind(connection);
            connection.send = (bytes) => {
              if (++frames === 4) (connection as unknown as { sever(): void }).sever();
              return send(bytes);
            };
          }
          return connection;
        }, GRADUAL);
        reports.push(report);
        if (failing) assert.equal(report.outcome, "rolled-back", `an injected failure: ${report.reason}`);
        if (report.outcome === "completed") pathMode.set(peer, to);
      });
      switching.set(peer, next);
      return next;
    };
    const changes: LinkChange[] = [];
    manager.on("link-mode", (change) => {
      changes.push(change);
      follow(change.peer as Peer);
    });

    // Streams: numbered frames to every peer, four in flight each, checked on arrival.
    let stopping = false;
    const sent = PEERS.map(() => 0);
    const received = PEERS.map(() => 0);
    const problems: string[] = [];
    const streams = connections.map(async (connection, peer) => {
      const inFlight: Promise<void>[] = [];
      for (let sequence = 1; !stopping && problems.length === 0; sequence++) {
        sent[peer] = sequence;
        inFlight.push(
          connection.send(payload(peer, sequence)).catch((error) => {
            problems.push(`peer ${peer} frame ${sequence}: ${error.message}`);
          }),
        );
        if (inFlight.length >= 4) await inFlight.shift();
        // Sends that resolve at once would never leave the microtask queue: let timers and the links run.
        if (sequence % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      await Promise.all(inFlight);
    });
    const readers = serverEnds.map(async (connection, peer) => {
      const decoder = new TextDecoder();
      for await (const frame of connection.frames()) {
        const expected = decoder.decode(payload(peer, received[peer] + 1));
        const got = decoder.decode(frame);
        if (got !== expected) {
          problems.push(`peer ${peer}: expected frame ${received[peer] + 1}, got "${got.slice(0, 30)}…"`);
          return;
        }
        received[peer]++;
        if (stopping && received[peer] === sent[peer]) return;
      }
    });

    let apart = 0;
    try {
      await manager.start();
      await until(() => received.every((count) => count > 20), "frames flow to every peer");
      for (let round = 0; round < ROUNDS && problems.length === 0; round++) {
        const rack = RACK_PLAN[round % RACK_PLAN.length], wan = WAN_PLAN[round % WAN_PLAN.length];
        conditions["rack-1"] = conditions["rack-2"] = LINKS[rack];
        conditions["wan-1"] = conditions["wan-2"] = LINKS[wan];
        await until(
          () => PEERS.every((peer) => manager.linkMode(peer) === (peer.startsWith("rack") ? rack : wan)),
          `round ${round}: every link on its mode`,
        );
        if (rack !== wan && manager.linkMode("rack-1") !== manager.linkMode("wan-1")) apart++;
        // Let the frames flow a moment on the moving links, then wait for every switch to end.
        const before = [...received];
        await until(() => received.every((count, peer) => count > before[peer] + 20), `round ${round}: frames flow`);
        await Promise.all(PEERS.map((peer) => switching.get(peer) ?? Promise.resolve()));
      }
    } finally {
      stopping = true;
      await Promise.all(streams);
      await until(() => received.every((count, peer) => count === sent[peer]) || problems.length > 0, "all delivered");
      await Promise.all(connections.map((connection) => connection.close()));
      await Promise.all(readers);
      await manager.close();
      await Promise.all(receivers.map((listener) => listener.close()));
      await zstd.close();
    }

    assert.deepEqual(problems, []);
    assert.deepEqual(received, sent, "every frame once, in order, on every link");
    assert.ok(apart >= ROUNDS / 2, `rack and WAN links on different modes at once in ${apart} rounds`);
    assert.ok(changes.length >= ROUNDS * 2, `${changes.length} link mode changes`);
    const completed = reports.filter((report) => report.outcome === "completed");
    const rolledBack = reports.filter((report) => report.outcome === "rolled-back");
    assert.ok(completed.length >= ROUNDS, `${completed.length} gradual switches completed`);
    assert.ok(rolledBack.length >= ROUNDS / 2, `${rolledBack.length} rolled back`);
    for (const report of rolledBack) assert.match(report.reason, /^step 10 %: the new path failed/);
    // However many switches, each connection holds only its live path (and perhaps one being closed).
    for (const connection of steered.values()) assert.ok(connection.steering().pathsHeld <= 2);
    // Each link's compressor followed its mode (after the last round's steps).
    for (const [address, status] of Object.entries(links.links())) {
      assert.equal(status.mode, manager.linkMode(peerOf(address)), `${address}'s compressor follows its mode`);
    }
    console.log(
      `  ${changes.length} link mode changes, ${completed.length} gradual transport switches completed and ` +
        `${rolledBack.length} rolled back, ${received.reduce((a, b) => a + b, 0)} frames on ${PEERS.length} links`,
    );
  },
});
