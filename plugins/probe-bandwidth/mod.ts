/**
 * `probe-bandwidth`: a timed transfer of `budgetBytes` to each peer, acknowledged
 * by the peer's count of bytes received; the transfer time less one round trip
 * gives the delivery rate. Passively, application connections handed to
 * `observe()` yield delivery-rate samples too (bytes delivered over time, taken
 * only while the sender had a backlog: an app-limited sample says nothing of the
 * link), so with `active: false` the probe spends no bandwidth at all. As BBR
 * does for its bottleneck bandwidth, each peer's estimate is the maximum over
 * the last `filterWindow` samples (queues and other traffic only ever make a
 * sample lower). The cluster sample is what a quorum gets, not the best link.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../../core/util/clock.ts";
import { SwitchyardError, toError } from "../../core/util/errors.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import type { Probe } from "../../core/contracts/probe.ts";
import { runWithTimeout } from "../../core/util/timeout.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { peerOptions, type PeerResult, probeTransport, reachedQuorum, replyKey } from "../probes/common.ts";
import { TRANSPORT_CAPABILITY } from "../../core/loading/capability.ts";
import { PeerLinks, quorumValue } from "../probes/peers.ts";
import { ackedBytes, bulkMessage, MessageType, pingMessage } from "../probes/protocol.ts";

const options = v.strictObject({
  ...peerOptions,
  /** The probe's name in stats. */
  name: v.optional(v.pipe(v.string(), v.minLength(1)), "bandwidth"),
  /** Bytes sent per measurement and peer. */
  budgetBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024)), 4 * 1024 * 1024),
  /** Size of each bulk frame. */
  chunkBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(256)), 64 * 1024),
  /** A transfer not acknowledged within this long fails. */
  timeoutMs: v.optional(v.pipe(v.number(), v.gtValue(0)), 4_000),
  /** How many recent samples the maximum filter spans. */
  filterWindow: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 3),
  /** Run timed transfers; off, only observed connections are sampled. */
  active: v.optional(v.boolean(), true),
});

/** The options, validated. */
export type BandwidthOptions = v.InferOutput<typeof options>;

/** A bandwidth probe with per-peer results. */
export interface BandwidthProbe extends Probe {
  /** The last estimate of each peer. */
  peers(): Record<string, PeerResult & { samplesMbps: number[] }>;
  /** Samples `connection`'s delivery rate toward `peer` (one of the probe's peers) from now on; returns a function that stops. */
  observe(connection: TransportConnection, peer: string): () => void;
  /** Closes connections and the responder. */
  close(): Promise<void>;
}

/** Creates a bandwidth probe over `transport`. */
export function bandwidthProbe(
  transport: Transport,
  clock: Clock,
  config: Omit<BandwidthOptions, "listen" | "active"> & { active?: boolean },
  responder?: TransportListener,
): BandwidthProbe {
  const links = new PeerLinks(transport, replyKey);
  const windows = new Map<string, number[]>();
  const last: Record<string, PeerResult & { samplesMbps: number[] }> = {};
  const observed = new Map<
    TransportConnection,
    { peer: string; atMs: number; delivered: number; backlogged: boolean }
  >();
  const delivered = (connection: TransportConnection) => {
    const stats = connection.stats();
    return { bytes: stats.bytesSent - stats.bufferedBytes, backlogged: stats.bufferedBytes > 0 };
  };
  /** Adds a passive sample for every observed connection that was backlogged over the last interval. */
  const samplePassively = () => {
    const nowMs = clock.now();
    for (const [connection, last] of observed) {
      const { bytes, backlogged } = delivered(connection);
      const elapsedMs = nowMs - last.atMs;
      if (last.backlogged && backlogged && elapsedMs > 0 && bytes > last.delivered) {
        const window = windows.get(last.peer) ?? [];
        windows.set(last.peer, window);
        window.push(((bytes - last.delivered) * 8) / (elapsedMs * 1000));
        if (window.length > config.filterWindow) window.shift();
      }
      observed.set(connection, { peer: last.peer, atMs: nowMs, delivered: bytes, backlogged });
    }
  };
  const chunk = new Uint8Array(config.chunkBytes);
  chunk[0] = MessageType.Bulk;
  let id = 0;

  async function transfer(link: Awaited<ReturnType<typeof links.get>>, signal?: AbortSignal): Promise<number> {
    // The round trip is subtracted from the transfer time (the last byte out, the ack back). As BBR does,
    // take the minimum of a few pings: delays only ever add to a sample.
    let rttMs = Infinity;
    for (let i = 0; i < 3; i++) {
      const ping = ++id;
      const pingStart = clock.now();
      await link.request(pingMessage(MessageType.Ping, ping), `pong:${ping}`);
      rttMs = Math.min(rttMs, clock.now() - pingStart);
    }
    const transferId = ++id;
    const frames: Uint8Array[] = [];
    for (let sent = 0; sent < config.budgetBytes; sent += chunk.length) frames.push(chunk);
    frames.push(bulkMessage(MessageType.BulkEnd, transferId));
    if (signal?.aborted) throw signal.reason;
    const start = clock.now();
    const ack = await link.request(frames, `ack:${transferId}`);
    const elapsedMs = clock.now() - start;
    const transferMs = Math.max(elapsedMs - rttMs, elapsedMs * 0.1, 0.001);
    return (ackedBytes(ack) * 8) / (transferMs * 1000);
  }

  async function measurePeer(peer: string, signal?: AbortSignal): Promise<PeerResult & { samplesMbps: number[] }> {
    const window = windows.get(peer) ?? [];
    windows.set(peer, window);
    if (config.active === false) {
      return window.length > 0
        ? { bandwidthMbps: Math.max(...window), samplesMbps: [...window] }
        : { error: "no passive sample yet (no observed connection was backlogged)", samplesMbps: [] };
    }
    const link = await links.reach(peer, clock, config.timeoutMs, signal);
    if ("unreachable" in link) return { ...link, samplesMbps: [...window] };
    try {
      const outcome = await runWithTimeout(clock, config.timeoutMs, () => transfer(link, signal), signal);
      if (outcome.timedOut) {
        throw new SwitchyardError("PROBE_TIMEOUT", `transfer not acknowledged within ${config.timeoutMs} ms`);
      }
      window.push(outcome.value);
      if (window.length > config.filterWindow) window.shift();
      return { bandwidthMbps: Math.max(...window), samplesMbps: [...window] };
    } catch (error) {
      return { error: toError(error).message, samplesMbps: [...window] };
    }
  }

  return {
    name: config.name,
    async measure(signal) {
      if (signal?.aborted) throw signal.reason;
      samplePassively();
      const measured = await Promise.all(config.peers.map((peer) => measurePeer(peer, signal)));
      config.peers.forEach((peer, i) => last[peer] = measured[i]);
      // Passively (no transfers) every peer is reachable as far as the probe knows.
      const results = config.active === false ? measured : reachedQuorum(measured);
      const rates = results.flatMap((r) => (r.bandwidthMbps === undefined ? [] : [r.bandwidthMbps]));
      if (rates.length === 0) {
        throw new SwitchyardError("PROBE_FAILED", `no peer measured: ${results.map((r) => r.error).join("; ")}`);
      }
      // A peer reached but not measured (its transfer failed or timed out) counts as having no bandwidth at all.
      const all = [...rates, ...Array(results.length - rates.length).fill(0)];
      return { bandwidthMbps: quorumValue(all, "higher")! };
    },
    peers: () => structuredClone(last),
    observe(connection, peer) {
      if (!config.peers.includes(peer)) {
        throw new SwitchyardError("INVALID_ARGUMENT", `observe: "${peer}" is not one of this probe's peers`);
      }
      const { bytes, backlogged } = delivered(connection);
      observed.set(connection, { peer, atMs: clock.now(), delivered: bytes, backlogged });
      return () => void observed.delete(connection);
    },
    close: async () => {
      await links.close();
      await responder?.close();
    },
  };
}

/** The plugin. */
const plugin: Plugin<"probe", BandwidthOptions, BandwidthProbe> = builtinPlugin({
  id: "probe-bandwidth",
  kind: "probe",
  description: "Bandwidth to each peer by a timed transfer, with a BBR-style windowed maximum.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["probe:bandwidth"],
  requires: [TRANSPORT_CAPABILITY.name],
  options,
  async create(context, config) {
    const { transport, responder } = await probeTransport(context, config);
    return bandwidthProbe(transport, context.clock, config, responder);
  },
});
export default plugin;
