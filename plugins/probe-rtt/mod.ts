/**
 * `probe-rtt`: ping/pong frames to each peer over the transport; pings
 * unanswered within `pingTimeoutMs` count as lost. Each peer's RTT is the
 * minimum over its pings of the last `filterWindow` measurements, as BBR
 * estimates RTprop: scheduling delays (a busy host, a late timer), queues and
 * jitter only ever add to a round trip, so the smallest one is the closest to
 * the path's own, which is what tells a datacenter link from an internet one.
 * A median would move with the host's load. The cluster sample is what a
 * quorum sees (not the best link); per-peer values stay visible through `peers()`.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../../core/util/clock.ts";
import { SwitchyardError, toError } from "../../core/util/errors.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import type { Probe } from "../../core/contracts/probe.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";
import { runWithTimeout } from "../../core/util/timeout.ts";
import type { Transport, TransportListener } from "../../core/contracts/transport.ts";
import { peerOptions, type PeerResult, probeTransport, reachedQuorum, replyKey } from "../probes/common.ts";
import { TRANSPORT_CAPABILITY } from "../../core/loading/capability.ts";
import { PeerLinks, peersForQuorum, quorumValue } from "../probes/peers.ts";
import { MessageType, pingMessage } from "../probes/protocol.ts";

const options = v.strictObject({
  ...peerOptions,
  /** The probe's name in stats. */
  name: v.optional(v.pipe(v.string(), v.minLength(1)), "rtt"),
  /** Pings per peer per measurement. */
  pings: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000)), 5),
  /** A ping unanswered for this long counts as lost. */
  pingTimeoutMs: v.optional(v.pipe(v.number(), v.gtValue(0)), 1_000),
  /** How many recent measurements the minimum filter spans (1: this measurement's pings only). */
  filterWindow: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)), 1),
});

/** The options, validated. */
export type RttOptions = v.InferOutput<typeof options>;

/** An RTT probe with per-peer results. */
export interface RttProbe extends Probe {
  /** The last measurement of each peer. */
  peers(): Record<string, PeerResult>;
  /** Closes connections and the responder. */
  close(): Promise<void>;
}

/** Creates an RTT probe over `transport` (`filterWindow` defaults to 1: each measurement's own pings). */
export function rttProbe(
  transport: Transport,
  clock: Clock,
  config: Omit<RttOptions, "listen" | "filterWindow"> & { filterWindow?: number },
  responder?: TransportListener,
): RttProbe {
  const links = new PeerLinks(transport, replyKey);
  const last: Record<string, PeerResult> = {};
  /** Each peer's smallest RTT of its recent measurements, newest last (undefined: none answered). */
  const windows = new Map<string, (number | undefined)[]>();
  const filterWindow = config.filterWindow ?? 1;
  let sequence = 0;

  /** Records this measurement's minimum and returns the minimum over the window. */
  function filtered(peer: string, roundMinMs: number | undefined): number | undefined {
    const window = windows.get(peer) ?? [];
    window.push(roundMinMs);
    if (window.length > filterWindow) window.shift();
    windows.set(peer, window);
    const answered = window.filter((rttMs) => rttMs !== undefined);
    return answered.length > 0 ? Math.min(...answered) : undefined;
  }

  async function measurePeer(peer: string, signal?: AbortSignal): Promise<PeerResult> {
    const link = await links.reach(peer, clock, config.pingTimeoutMs, signal);
    if ("unreachable" in link) return link;
    try {
      const rtts: number[] = [];
      let lost = 0;
      for (let i = 0; i < config.pings; i++) {
        if (signal?.aborted) throw signal.reason;
        const id = ++sequence;
        const sentMs = clock.now();
        const outcome = await runWithTimeout(
          clock,
          config.pingTimeoutMs,
          () => link.request(pingMessage(MessageType.Ping, id), `pong:${id}`),
          signal,
        );
        if (outcome.timedOut) {
          link.forget(`pong:${id}`);
          lost++;
        } else {
          rtts.push(clock.now() - sentMs);
        }
      }
      const rttMs = filtered(peer, rtts.length > 0 ? Math.min(...rtts) : undefined);
      return { ...(rttMs !== undefined ? { rttMs } : {}), lossRatio: lost / config.pings };
    } catch (error) {
      return { lossRatio: 1, error: toError(error).message };
    }
  }

  return {
    name: config.name,
    async measure(signal) {
      if (signal?.aborted) throw signal.reason;
      const all = await Promise.all(config.peers.map((peer) => measurePeer(peer, signal)));
      config.peers.forEach((peer, i) => last[peer] = all[i]);
      const results = reachedQuorum(all);
      const answered = results.filter((result) => result.rttMs !== undefined);
      if (answered.length === 0) {
        throw new SwitchyardError(
          "PROBE_FAILED",
          `no peer answered: ${results.map((r) => r.error ?? "timeout").join("; ")}`,
        );
      }
      const sample: NetworkSample = { lossRatio: quorumValue(results.map((r) => r.lossRatio ?? 1), "lower")! };
      // Without enough peers answering to form a quorum there is no quorum RTT to report.
      if (answered.length >= peersForQuorum(results.length)) {
        sample.rttMs = quorumValue(answered.map((r) => r.rttMs!), "lower")!;
      }
      return sample;
    },
    peers: () => structuredClone(last),
    close: async () => {
      await links.close();
      await responder?.close();
    },
  };
}

/** The plugin. */
const plugin: Plugin<"probe", RttOptions, RttProbe> = builtinPlugin({
  id: "probe-rtt",
  kind: "probe",
  description: "Round-trip time and loss to each peer, by ping/pong over the transport.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["probe:rtt"],
  requires: [TRANSPORT_CAPABILITY.name],
  options,
  async create(context, config) {
    const { transport, responder } = await probeTransport(context, config);
    return rttProbe(transport, context.clock, config, responder);
  },
});
export default plugin;
