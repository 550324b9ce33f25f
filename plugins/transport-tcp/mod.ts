/**
 * `transport-tcp`: frames over TCP on Deno (`Deno.listen`/`Deno.connect`) and
 * Bun (its native sockets), with TCP_NODELAY, keepalive, flow control both
 * ways, dialing with backoff, and the kernel's congestion control reported in
 * stats (internet mode wants BBR; a warning says so when it is not), and
 * optional TLS (`tls` option: PEM files).
 *
 * Addresses are `host:port` (`[v6]:port` for IPv6); `listen("127.0.0.1:0")`
 * picks a free port, which the listener's `address` tells.
 *
 * @module
 */
import * as v from "valibot";
import { AsyncQueue } from "../../core/async_queue.ts";
import { type Clock, sleep } from "../../core/clock.ts";
import { SwitchyardError, toError } from "../../core/errors.ts";
import type { Logger } from "../../core/logger.ts";
import { definePlugin, type Plugin } from "../../core/plugin.ts";
import { resumableTransport } from "../../core/resumable.ts";
import { currentRuntime } from "../../core/runtime.ts";
import type { Transport, TransportConnection } from "../../core/transport.ts";
import { readFile } from "node:fs/promises";
import type { SocketFactory, TlsSettings } from "./byte_socket.ts";
import { systemCongestionControl } from "./congestion.ts";
import { StreamConnection } from "./stream_connection.ts";

/** The options schema (transport-adaptive takes the same TCP options). */
export const tcpOptions = v.strictObject({
  /** Largest frame. */
  maxFrameBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2 ** 31)), 16 * 1024 * 1024),
  /** Reading pauses while this many received bytes wait for the application. */
  highWaterBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024)), 4 * 1024 * 1024),
  /** Attempts per dial when the peer refuses (1: no retry). */
  dialAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1),
  /** First wait between attempts; doubles up to `maxBackoffMs`. */
  initialBackoffMs: v.optional(v.pipe(v.number(), v.minValue(0)), 100),
  /** Longest wait between attempts. */
  maxBackoffMs: v.optional(v.pipe(v.number(), v.minValue(0)), 5_000),
  /**
   * Resume connections after breaks (see `core/resumable.ts`): the dialer dials again with backoff, and what
   * the peer missed is sent again, so frames still arrive exactly once and in order. Both ends must enable it.
   */
  resume: v.optional(v.strictObject({
    /** Dial attempts after a break before the connection fails. */
    maxAttempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 8),
    /** First wait before dialling again; doubles up to `maxBackoffMs`. */
    initialBackoffMs: v.optional(v.pipe(v.number(), v.minValue(0)), 50),
    /** Longest wait between attempts. */
    maxBackoffMs: v.optional(v.pipe(v.number(), v.minValue(0)), 2_000),
    /** How long a listening end keeps a broken session for its dialer to come back. */
    resumeTimeoutMs: v.optional(v.pipe(v.number(), v.minValue(1)), 10_000),
    /** Bytes sent and not yet acknowledged before `send` waits. */
    maxUnackedBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024)), 8 * 1024 * 1024),
  })),
  /** TLS (for internet mode): PEM file paths; listeners need cert and key, dialers may pin a CA. */
  tls: v.optional(v.strictObject({
    certFile: v.optional(v.pipe(v.string(), v.minLength(1))),
    keyFile: v.optional(v.pipe(v.string(), v.minLength(1))),
    caFile: v.optional(v.pipe(v.string(), v.minLength(1))),
    serverName: v.optional(v.pipe(v.string(), v.minLength(1))),
  })),
});

/** The options, validated. */
export type TcpOptions = v.InferOutput<typeof tcpOptions>;

/** A TCP transport with its diagnostics. */
export interface TcpTransport extends Transport {
  /** The kernel's congestion control for new connections. */
  readonly congestionControl: string;
  /** Diagnostics for stats. */
  stats(): {
    congestionControl: string;
    runtime: string;
    tls: boolean;
    dials: number;
    dialRetries: number;
    accepted: number;
  };
}

/** Splits `host:port` / `[v6]:port`; throws `INVALID_ARGUMENT` naming the address otherwise. */
export function parseAddress(address: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65_535) {
    throw new SwitchyardError("INVALID_ARGUMENT", `TCP address must be host:port, got ${JSON.stringify(address)}`);
  }
  return { hostname: match[1] ?? match[2], port };
}

/** The runtime's socket factory. */
export async function runtimeSockets(): Promise<SocketFactory> {
  const runtime = currentRuntime();
  if (runtime === "bun") return (await import("./socket_bun.ts")).bunSockets;
  if (runtime === "deno") return (await import("./socket_deno.ts")).denoSockets;
  throw new SwitchyardError("PLUGIN_INVALID", "transport-tcp runs on Deno or Bun");
}

/** Reads the PEM files of the `tls` option. */
export async function loadTls(tls: NonNullable<TcpOptions["tls"]>): Promise<TlsSettings> {
  const read = (path?: string) => path ? readFile(path, "utf8") : Promise.resolve(undefined);
  const [cert, key, ca] = await Promise.all([read(tls.certFile), read(tls.keyFile), read(tls.caFile)]);
  return {
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(ca ? { ca } : {}),
    ...(tls.serverName ? { serverName: tls.serverName } : {}),
  };
}

/** Creates a TCP transport on `sockets`; with `tls`, every listener and dial uses TLS. */
export function tcpTransport(
  sockets: SocketFactory,
  config: Omit<TcpOptions, "tls">,
  clock: Clock,
  logger?: Logger,
  tls?: TlsSettings,
): TcpTransport {
  const congestionControl = systemCongestionControl();
  if (congestionControl !== "bbr") {
    logger?.warn(`TCP congestion control is "${congestionControl}", not "bbr": internet-mode throughput may suffer`, {
      hint: "sysctl -w net.ipv4.tcp_congestion_control=bbr",
    });
  }
  const limits = { maxFrameBytes: config.maxFrameBytes, highWaterBytes: config.highWaterBytes };
  const counters = { dials: 0, dialRetries: 0, accepted: 0 };
  return {
    name: "tcp",
    maxFrameBytes: config.maxFrameBytes,
    congestionControl,
    async listen(address) {
      const { hostname, port } = parseAddress(address);
      const queue = new AsyncQueue<TransportConnection>();
      const listener = await sockets.listen(hostname, port, (socket) => {
        counters.accepted++;
        queue.push(new StreamConnection(socket, limits));
      }, tls);
      return {
        address: listener.address,
        connections: () => queue,
        close: async () => {
          queue.end();
          await listener.close();
        },
      };
    },
    async dial(address) {
      const { hostname, port } = parseAddress(address);
      counters.dials++;
      let backoffMs = config.initialBackoffMs;
      for (let attempt = 1;; attempt++) {
        try {
          return new StreamConnection(await sockets.connect(hostname, port, tls), limits);
        } catch (error) {
          if (attempt >= config.dialAttempts) {
            throw new SwitchyardError(
              "TRANSPORT_UNREACHABLE",
              `cannot connect to ${address} after ${attempt} attempt(s): ${toError(error).message}`,
              { cause: error },
            );
          }
          counters.dialRetries++;
          await sleep(clock, backoffMs);
          backoffMs = Math.min(config.maxBackoffMs, backoffMs * 2);
        }
      }
    },
    stats: () => ({ congestionControl, runtime: currentRuntime(), tls: tls !== undefined, ...counters }),
  };
}

/**
 * The transport the options describe: this runtime's sockets, TLS when
 * configured (certificates loaded), and resumable connections when `resume`
 * is set. Shared by `transport-tcp` and `transport-adaptive`.
 */
export async function openTcpTransport(config: TcpOptions, clock: Clock, logger?: Logger): Promise<TcpTransport> {
  const tcp = tcpTransport(
    await runtimeSockets(),
    config,
    clock,
    logger,
    config.tls ? await loadTls(config.tls) : undefined,
  );
  return config.resume ? { ...tcp, ...resumableTransport(tcp, { clock, ...config.resume }) } : tcp;
}

/** The plugin. */
const plugin: Plugin<TcpOptions, TcpTransport> = definePlugin({
  id: "transport-tcp",
  version: "0.1.0",
  kind: "transport",
  description: "Frames over TCP (Deno.connect/listen, Bun native sockets), BBR reported.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["transport", "transport:tcp"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun"] },
  permissions: ["net"],
  options: tcpOptions,
  create: (context, config) => openTcpTransport(config, context.clock, context.logger),
});
export default plugin;
