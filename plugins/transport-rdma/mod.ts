/**
 * `transport-rdma`: frames over RDMA through librdmacm's rsockets, loaded
 * with `Deno.dlopen` or `bun:ffi` from one symbol table. Creating it detects
 * RDMA first and fails with the reason when it cannot be used (library
 * missing, no `--allow-ffi`, no device); `transport-adaptive` then uses TCP.
 * The data path (`rsocket_sockets.ts`) reuses the TCP transport's framing
 * and flow control over rsocket streams, polled so it never blocks the event
 * loop.
 *
 * @module
 */
import * as v from "valibot";
import type { Clock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Logger } from "../../core/util/logger.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { tcpOptions, type TcpTransport, tcpTransport } from "../transport-tcp/mod.ts";
import { detectRdma } from "./detect.ts";
import { rsocketSockets } from "./rsocket_sockets.ts";
import { RDMACM_LIBRARIES, type RsocketApi } from "./symbols.ts";

export { detectRdma } from "./detect.ts";
export type { RdmaAvailability } from "./detect.ts";

/** Framing and dialing options (those of transport-tcp, without TLS and resume). */
export const rdmaFramingOptions = v.omit(tcpOptions, ["tls", "resume"]);

const options = v.strictObject({
  ...rdmaFramingOptions.entries,
  /** Library file names to try. */
  libraries: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), [...RDMACM_LIBRARIES]),
});

/**
 * A transport over rsockets: the TCP transport's framing, flow control and
 * dial backoff, with rsocket streams underneath.
 */
export function rsocketTransport(
  api: RsocketApi,
  config: v.InferOutput<typeof rdmaFramingOptions>,
  clock: Clock,
): TcpTransport {
  const base = tcpTransport(rsocketSockets(api), config, clock);
  return { ...base, name: "rdma", congestionControl: "rdma", stats: () => ({ ...base.stats(), tls: false }) };
}

/** Detects RDMA and opens the transport, or says why not. */
export async function openRdmaTransport(
  config: v.InferOutput<typeof rdmaFramingOptions> & { libraries?: readonly string[] },
  clock: Clock,
  logger?: Logger,
): Promise<{ transport: TcpTransport; devices: number } | { reason: string }> {
  const rdma = await detectRdma(config.libraries);
  if (!rdma.available) return { reason: rdma.reason };
  logger?.info(`RDMA: ${rdma.devices} device(s) via ${rdma.path}; frames go over rsockets`);
  return { transport: rsocketTransport(rdma, config, clock), devices: rdma.devices };
}

/** The plugin. */
const plugin: Plugin<"transport", v.InferOutput<typeof options>, TcpTransport> = builtinPlugin({
  id: "transport-rdma",
  kind: "transport",
  description: "RDMA via librdmacm rsockets over FFI; fails with the reason where RDMA cannot be used.",
  modes: ["datacenter", "hybrid"],
  provides: ["transport:rdma"],
  runtimes: ["deno", "bun"],
  permissions: ["ffi"],
  options,
  async create(context, config) {
    const opened = await openRdmaTransport(config, context.clock, context.logger);
    if ("reason" in opened) throw new SwitchyardError("PLUGIN_FAILED", `RDMA unavailable: ${opened.reason}`);
    return opened.transport;
  },
});
export default plugin;
