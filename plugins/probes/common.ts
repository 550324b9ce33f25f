/**
 * What the network probes share: options for peers and the responder, the
 * transport they require, and per-peer results folded into a cluster sample.
 *
 * @module
 */
import * as v from "valibot";
import { TRANSPORT_CAPABILITY } from "../../core/loading/capability.ts";
import type { PluginContext } from "../../core/loading/plugin.ts";
import type { Transport, TransportListener } from "../../core/contracts/transport.ts";
import { messageId, MessageType } from "./protocol.ts";
import { serveProbes } from "./responder.ts";
import { peersForQuorum } from "./peers.ts";
import { SwitchyardError } from "../../core/util/errors.ts";

/** Options every network probe takes. */
export const peerOptions = {
  /** The peers' probe addresses (their `listen`). */
  peers: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1, "needs at least one peer")),
  /** Where this node answers other nodes' probes; omit to only measure. */
  listen: v.optional(v.pipe(v.string(), v.minLength(1))),
};

/** What a probe found for one peer. */
export interface PeerResult {
  /** Round trip (probe-rtt: the minimum of recent pings), when any ping was answered. */
  rttMs?: number;
  /** Bandwidth estimate. */
  bandwidthMbps?: number;
  /** Share of pings unanswered in time. */
  lossRatio?: number;
  /** Why the peer could not be measured. */
  error?: string;
  /**
   * No connection to the peer could be made (it is down, or not up yet): it
   * says nothing of the link, so it is left out of the sample instead of
   * counting as loss or as no bandwidth.
   */
  unreachable?: true;
}

/**
 * The results of the peers that could be reached, or a `PROBE_FAILED` error
 * when fewer than a quorum of `results` could (nothing then to say of the
 * links a quorum uses).
 */
export function reachedQuorum<T extends PeerResult>(results: T[]): T[] {
  const reached = results.filter((result) => !result.unreachable);
  if (reached.length < peersForQuorum(results.length)) {
    throw new SwitchyardError(
      "PROBE_FAILED",
      `fewer than a quorum of peers reachable (${reached.length} of ${results.length}): ${
        results.filter((result) => result.unreachable).map((result) => result.error).join("; ")
      }`,
    );
  }
  return reached;
}

/** Names replies so waiters find them. */
export function replyKey(reply: Uint8Array): string {
  if (reply[0] === MessageType.Pong) return `pong:${messageId(reply)}`;
  if (reply[0] === MessageType.BulkAck) return `ack:${messageId(reply)}`;
  return "other";
}

/** The transport the probe requires, and the responder if `listen` is set. */
export async function probeTransport(
  context: PluginContext,
  config: { listen?: string },
): Promise<{ transport: Transport; responder?: TransportListener }> {
  const transport = context.require(TRANSPORT_CAPABILITY);
  const responder = config.listen ? await serveProbes(transport, config.listen) : undefined;
  if (responder) context.logger.info(`answering probes at ${responder.address}`);
  return { transport, ...(responder ? { responder } : {}) };
}
