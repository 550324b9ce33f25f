/**
 * `transport-adaptive`: RDMA where it is available, TCP otherwise, decided per
 * peer (a peer RDMA cannot reach is dialed over TCP), with the choice and
 * the reason RDMA was not used recorded in `stats()`.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../../core/util/clock.ts";
import { toError } from "../../core/util/errors.ts";
import type { Logger } from "../../core/util/logger.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { AsyncQueue } from "../transport-kit/async_queue.ts";
import { openRdmaTransport } from "../transport-rdma/mod.ts";
import { openTcpTransport, tcpOptions } from "../transport-tcp/mod.ts";

const options = v.strictObject({
  /** Everything transport-tcp takes, with its defaults (frame limit, flow control, dial backoff, TLS). */
  ...tcpOptions.entries,
  /** Try RDMA at all. */
  rdma: v.optional(v.boolean(), true),
});

/** What the adaptive transport reports. */
export interface AdaptiveTransportStats {
  /** Whether RDMA can be used on this node, and if not, why. */
  rdma: { available: boolean; reason?: string };
  /** Which transport each dialed peer uses. */
  peers: Record<string, "rdma" | "tcp">;
}

/** An adaptive transport. */
export interface AdaptiveTransport extends Transport {
  /** Choices and reasons. */
  stats(): AdaptiveTransportStats;
}

/** Creates an adaptive transport: RDMA via `rdma` when given, TCP always. */
export function adaptiveTransport(
  tcp: Transport,
  rdma: { transport?: Transport; reason?: string },
  logger?: Logger,
): AdaptiveTransport {
  const peers: Record<string, "rdma" | "tcp"> = {};
  return {
    name: "adaptive",
    maxFrameBytes: tcp.maxFrameBytes,
    async listen(address) {
      const listener = await tcp.listen(address);
      if (!rdma.transport) return listener;
      // Peers may come over either: accept on TCP and, at the same address, on RDMA.
      let rdmaListener: TransportListener | undefined;
      try {
        rdmaListener = await rdma.transport.listen(listener.address);
      } catch (error) {
        logger?.warn("RDMA listen failed; accepting over TCP only", { address, error: toError(error).message });
        return listener;
      }
      const merged = new AsyncQueue<TransportConnection>();
      let open = 2;
      for (const source of [listener, rdmaListener]) {
        (async () => {
          for await (const connection of source.connections()) merged.push(connection);
        })().catch(() => {}).finally(() => --open === 0 && merged.end());
      }
      return {
        address: listener.address,
        connections: () => merged,
        close: async () => {
          await Promise.all([listener.close(), rdmaListener!.close()]);
        },
      };
    },
    async dial(address) {
      if (rdma.transport) {
        try {
          const connection = await rdma.transport.dial(address);
          peers[address] = "rdma";
          return connection;
        } catch (error) {
          logger?.warn("RDMA dial failed; falling back to TCP", { peer: address, error: toError(error).message });
        }
      }
      const connection = await tcp.dial(address);
      peers[address] = "tcp";
      return connection;
    },
    stats: () => ({
      rdma: rdma.transport
        ? { available: true }
        : { available: false, ...(rdma.reason ? { reason: rdma.reason } : {}) },
      peers: { ...peers },
    }),
  };
}

async function create(
  config: v.InferOutput<typeof options>,
  clock: Clock,
  logger: Logger,
): Promise<AdaptiveTransport> {
  const tcp = await openTcpTransport(config, clock, logger);
  if (!config.rdma) return adaptiveTransport(tcp, { reason: "disabled by options" }, logger);
  const opened = await openRdmaTransport(config, clock, logger);
  if ("reason" in opened) {
    logger.info(`transport-adaptive: using TCP (${opened.reason})`);
    return adaptiveTransport(tcp, { reason: opened.reason }, logger);
  }
  return adaptiveTransport(tcp, { transport: opened.transport }, logger);
}

/** The plugin. */
const plugin: Plugin<"transport", v.InferOutput<typeof options>, AdaptiveTransport> = builtinPlugin({
  id: "transport-adaptive",
  kind: "transport",
  description: "RDMA where available, else TCP, per peer; records which is in use.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["transport", "transport:adaptive"],
  runtimes: ["deno", "bun"],
  permissions: ["net"],
  options,
  create: (context, config) => create(config, context.clock, context.logger),
});
export default plugin;
