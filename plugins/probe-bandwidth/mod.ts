/**
 * `probe-bandwidth`: a timed transfer of `budgetBytes` to each peer, acknowledged
 * by the peer's count of bytes received; the transfer time less one round trip
 * gives the delivery rate. As BBR does for its bottleneck bandwidth, each peer's
 * estimate is the maximum over the last `filterWindow` measurements (queues
 * and other traffic only ever make a sample lower). The cluster sample is what
 * a quorum gets, not the best link.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../../core/clock.ts";
import { SwitchyardError, toError } from "../../core/errors.ts";
import { definePlugin, type Plugin } from "../../core/plugin.ts";
import type { Probe } from "../../core/probe.ts";
import { runWithTimeout } from "../../core/timeout.ts";
import type { Transport, TransportListener } from "../../core/transport.ts";
import {
  ackedBytes,
  peerOptions,
  type PeerResult,
  probeTransport,
  replyKey,
  TRANSPORT_CAPABILITY,
} from "../probes/common.ts";
import { PeerLinks, quorumValue } from "../probes/peers.ts";
import { bulkMessage, MessageType, pingMessage } from "../probes/protocol.ts";

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
  /** How many recent measurements the maximum filter spans. */
  filterWindow: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 3),
});

/** The options, validated. */
export type BandwidthOptions = v.InferOutput<typeof options>;

/** A bandwidth probe with per-peer results. */
export interface BandwidthProbe extends Probe {
  /** The last estimate of each peer. */
  peers(): Record<string, PeerResult & { samplesMbps: number[] }>;
  /** Closes connections and the responder. */
  close(): Promise<void>;
}

/** Creates a bandwidth probe over `transport`. */
export function bandwidthProbe(
  transport: Transport,
  clock: Clock,
  config: Omit<BandwidthOptions, "listen">,
  responder?: TransportListener,
): BandwidthProbe {
  const links = new PeerLinks(transport, replyKey);
  const windows = new Map<string, number[]>();
  const last: Record<string, PeerResult & { samplesMbps: number[] }> = {};
  const chunk = new Uint8Array(config.chunkBytes);
  chunk[0] = MessageType.Bulk;
  let id = 0;

  async function transfer(peer: string, signal?: AbortSignal): Promise<number> {
    const link = await links.get(peer);
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
    try {
      const outcome = await runWithTimeout(clock, config.timeoutMs, () => transfer(peer, signal), signal);
      if (outcome.timedOut) throw new Error(`transfer not acknowledged within ${config.timeoutMs} ms`);
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
      const results = await Promise.all(config.peers.map((peer) => measurePeer(peer, signal)));
      config.peers.forEach((peer, i) => last[peer] = results[i]);
      const rates = results.flatMap((r) => (r.bandwidthMbps === undefined ? [] : [r.bandwidthMbps]));
      if (rates.length === 0) {
        throw new SwitchyardError("PROBE_FAILED", `no peer measured: ${results.map((r) => r.error).join("; ")}`);
      }
      // A peer that could not be measured counts as having no bandwidth at all.
      const all = [...rates, ...Array(results.length - rates.length).fill(0)];
      return { bandwidthMbps: quorumValue(all, "higher")! };
    },
    peers: () => structuredClone(last),
    close: async () => {
      await links.close();
      await responder?.close();
    },
  };
}

/** The plugin. */
const plugin: Plugin<BandwidthOptions, BandwidthProbe> = definePlugin({
  id: "probe-bandwidth",
  version: "0.1.0",
  kind: "probe",
  description: "Bandwidth to each peer by a timed transfer, with a BBR-style windowed maximum.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["probe:bandwidth"],
  requires: [TRANSPORT_CAPABILITY],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun", "node"] },
  options,
  async create(context, config) {
    const { transport, responder } = await probeTransport(context, config);
    return bandwidthProbe(transport, context.clock, config, responder);
  },
});
export default plugin;
