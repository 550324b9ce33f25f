/**
 * `transport-tcp`: frames over TCP on Deno (`Deno.listen`/`Deno.connect`) and
 * Bun (its native sockets), with TCP_NODELAY, keepalive, flow control both
 * ways, dialing with backoff, and the kernel's congestion control reported in
 * stats (internet mode wants BBR; a warning says so when it is not), and
 * optional TLS (`tls` option: PEM files).
 *
 * Listeners survive their peers: a connection reset before it was accepted,
 * or descriptors running out (`EMFILE`, with a backoff), is counted and
 * logged and accepting goes on; past `maxConnections` a new connection is
 * closed at once; a peer that says nothing (`firstByteTimeoutMs`) or stalls
 * in a frame (`frameStallTimeoutMs`) is closed with `TRANSPORT_TIMEOUT`; and
 * the bytes all connections of a listener hold in unfinished frames stay
 * within `maxPartialFrameBytes` (a frame that does not fit closes its
 * connection with `TRANSPORT_OVERLOADED`). `stats()` counts each.
 *
 * Addresses are `host:port` (`[v6]:port` for IPv6); `listen("127.0.0.1:0")`
 * picks a free port, which the listener's `address` tells.
 *
 * @module
 */
import * as v from "valibot";
import { parseOrThrow } from "../../core/util/validation.ts";
import { AsyncQueue } from "../transport-kit/async_queue.ts";
import { type Clock, sleep } from "../../core/util/clock.ts";
import { SwitchyardError, toError, ValidationError } from "../../core/util/errors.ts";
import type { Logger } from "../../core/util/logger.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { resumableTransport } from "../transport-kit/resumable.ts";
import { currentRuntime } from "../../core/util/runtime.ts";
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";
import { readFile } from "node:fs/promises";
import type { SocketFactory, TlsSettings } from "./byte_socket.ts";
import { acceptErrorHandler } from "./accept_errors.ts";
import { systemCongestionControl } from "./congestion.ts";
import { ConnectionGuards, type GuardCounters } from "./guards.ts";
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
  /** Open connections one listener keeps; a connection past it is closed as soon as it is accepted. */
  maxConnections: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1024),
  /** An accepted connection whose peer sends nothing at all for this long is closed (0: never). */
  firstByteTimeoutMs: v.optional(v.pipe(v.number(), v.minValue(0)), 30_000),
  /** A connection whose peer stops for this long in the middle of a frame is closed (0: never). */
  frameStallTimeoutMs: v.optional(v.pipe(v.number(), v.minValue(0)), 30_000),
  /**
   * Bytes that all connections of one listener (and, separately, all dialed connections) may hold in
   * unfinished frames; a frame that does not fit closes its connection. At least `maxFrameBytes`;
   * by default 128 MiB, or `maxFrameBytes` when that is larger.
   */
  maxPartialFrameBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /**
   * Resume connections after breaks (see `plugins/transport-kit/resumable.ts`): the dialer dials again with backoff, and what
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

/** The options, validated: every field of {@linkcode tcpOptions} with its default filled in. */
export interface TcpOptions {
  /** Largest frame, in bytes (default 16 MiB). */
  maxFrameBytes: number;
  /** Reading pauses while this many received bytes wait for the application (default 4 MiB). */
  highWaterBytes: number;
  /** Attempts per dial when the peer refuses (default 1: no retry). */
  dialAttempts: number;
  /** First wait between attempts, doubling up to `maxBackoffMs` (default 100). */
  initialBackoffMs: number;
  /** Longest wait between attempts (default 5,000). */
  maxBackoffMs: number;
  /** Open connections one listener keeps (default 1,024). */
  maxConnections: number;
  /** An accepted connection that sends nothing for this long is closed; 0: never (default 30,000). */
  firstByteTimeoutMs: number;
  /** A connection that stops for this long in the middle of a frame is closed; 0: never (default 30,000). */
  frameStallTimeoutMs: number;
  /** Bytes one listener's connections may hold in unfinished frames (default 128 MiB, or `maxFrameBytes`). */
  maxPartialFrameBytes?: number;
  /** Resumable connections (both ends must enable them). */
  resume?: {
    /** Dial attempts after a break before the connection fails (default 8). */
    maxAttempts: number;
    /** First wait before dialling again (default 50). */
    initialBackoffMs: number;
    /** Longest wait between attempts (default 2,000). */
    maxBackoffMs: number;
    /** How long a listening end keeps a broken session (default 10,000). */
    resumeTimeoutMs: number;
    /** Bytes sent and not yet acknowledged before `send` waits (default 8 MiB). */
    maxUnackedBytes: number;
  };
  /** TLS: PEM file paths; listeners need cert and key, dialers may pin a CA. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string; serverName?: string };
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time check that the interface above is exactly what the schema produces. */
const _TCP_OPTIONS_MATCH_SCHEMA: true = true satisfies Same<v.InferOutput<typeof tcpOptions>, TcpOptions>;

/**
 * Validates transport options (a manifest's `options`, or your own) and
 * fills in the defaults; throws a `ValidationError` naming every bad field.
 */
export function parseTcpOptions(input: unknown = {}): TcpOptions {
  return parseOrThrow(tcpOptions, input, "transport-tcp options");
}

/** The options that guard listeners against their peers; each has a default. */
type GuardOption = "maxConnections" | "firstByteTimeoutMs" | "frameStallTimeoutMs" | "maxPartialFrameBytes";

/** What {@linkcode tcpTransport} takes: the options without TLS, the guards optional (their defaults otherwise). */
export type TcpTransportConfig = Omit<TcpOptions, "tls" | GuardOption> & Partial<Pick<TcpOptions, GuardOption>>;

/** What a TCP transport reports: its setup, its dials, and what its guards counted. */
export interface TcpTransportStats extends GuardCounters {
  /** The kernel's congestion control for new connections. */
  congestionControl: string;
  /** `"deno"` or `"bun"`. */
  runtime: string;
  /** Whether listeners and dials use TLS. */
  tls: boolean;
  /** Dials started. */
  dials: number;
  /** Dial attempts retried after a refusal. */
  dialRetries: number;
}

/** A TCP transport with its diagnostics. */
export interface TcpTransport extends Transport {
  /** The kernel's congestion control for new connections. */
  readonly congestionControl: string;
  /** Diagnostics for stats. */
  stats(): TcpTransportStats;
}

/** The guards' defaults (those of {@linkcode tcpOptions}). */
const GUARD_DEFAULTS: Pick<TcpOptions, Exclude<GuardOption, "maxPartialFrameBytes">> = (() => {
  const { maxConnections, firstByteTimeoutMs, frameStallTimeoutMs } = v.parse(tcpOptions, {});
  return { maxConnections, firstByteTimeoutMs, frameStallTimeoutMs };
})();

/** `maxPartialFrameBytes` when not given: room for several frames, and always for one of the largest. */
const DEFAULT_PARTIAL_FRAME_BYTES = 128 * 1024 * 1024;

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

/**
 * Creates a TCP transport on `sockets`; with `tls`, every listener and dial
 * uses TLS. Throws `CONFIG_INVALID` when `maxPartialFrameBytes` is below
 * `maxFrameBytes` (a frame of the largest size could never be received).
 */
export function tcpTransport(
  sockets: SocketFactory,
  options: TcpTransportConfig,
  clock: Clock,
  logger?: Logger,
  tls?: TlsSettings,
): TcpTransport {
  const config = {
    ...options,
    maxConnections: options.maxConnections ?? GUARD_DEFAULTS.maxConnections,
    firstByteTimeoutMs: options.firstByteTimeoutMs ?? GUARD_DEFAULTS.firstByteTimeoutMs,
    frameStallTimeoutMs: options.frameStallTimeoutMs ?? GUARD_DEFAULTS.frameStallTimeoutMs,
    maxPartialFrameBytes: options.maxPartialFrameBytes ?? Math.max(DEFAULT_PARTIAL_FRAME_BYTES, options.maxFrameBytes),
  };
  if (config.maxPartialFrameBytes < config.maxFrameBytes) {
    throw new ValidationError("CONFIG_INVALID", "transport-tcp options", [{
      path: "maxPartialFrameBytes",
      message: `must be at least maxFrameBytes (${config.maxFrameBytes}), got ${config.maxPartialFrameBytes}`,
    }]);
  }
  const congestionControl = systemCongestionControl();
  if (congestionControl !== "bbr") {
    logger?.warn(`TCP congestion control is "${congestionControl}", not "bbr": internet-mode throughput may suffer`, {
      hint: "sysctl -w net.ipv4.tcp_congestion_control=bbr",
    });
  }
  const limits = {
    maxFrameBytes: config.maxFrameBytes,
    highWaterBytes: config.highWaterBytes,
    frameStallTimeoutMs: config.frameStallTimeoutMs,
  };
  const counters = { dials: 0, dialRetries: 0 };
  const guards = new ConnectionGuards(config.maxPartialFrameBytes, logger);
  const dialBudget = guards.budget();
  return {
    name: "tcp",
    maxFrameBytes: config.maxFrameBytes,
    congestionControl,
    async listen(address) {
      const { hostname, port } = parseAddress(address);
      const queue = new AsyncQueue<TransportConnection>();
      const stop = new AbortController();
      const budget = guards.budget();
      const acceptedLimits = { ...limits, firstByteTimeoutMs: config.firstByteTimeoutMs };
      let open = 0;
      let boundAddress = address;
      const failures = acceptErrorHandler({
        clock,
        logger,
        get address() {
          return boundAddress;
        },
        counts: guards.counters,
        signal: stop.signal,
      });
      const listener = await sockets.listen(hostname, port, {
        accepted(socket) {
          guards.counters.accepted++;
          failures.acceptSucceeded();
          if (stop.signal.aborted) {
            // Accepted as the listener closed: nobody would take it.
            socket.destroy();
            return;
          }
          if (open >= config.maxConnections) {
            socket.destroy();
            guards.rejected(boundAddress, config.maxConnections);
            return;
          }
          open++;
          const connection = guards.track(
            new StreamConnection(socket, acceptedLimits, { clock, budget, onFault: guards.onFault }),
          );
          void connection.closed.then(() => open--);
          queue.push(connection);
        },
        acceptFailed: (error) => failures.acceptFailed(error),
      }, tls);
      boundAddress = listener.address;
      return {
        address: listener.address,
        connections: () => queue,
        close: async () => {
          stop.abort();
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
          const socket = await sockets.connect(hostname, port, tls);
          return guards.track(
            new StreamConnection(socket, limits, { clock, budget: dialBudget, onFault: guards.onFault }),
          );
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
    stats: () => ({
      congestionControl,
      runtime: currentRuntime(),
      tls: tls !== undefined,
      ...counters,
      ...guards.counters,
    }),
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
const plugin: Plugin<"transport", TcpOptions, TcpTransport> = builtinPlugin({
  id: "transport-tcp",
  kind: "transport",
  description: "Frames over TCP (Deno.connect/listen, Bun native sockets), BBR reported.",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["transport", "transport:tcp"],
  runtimes: ["deno", "bun"],
  permissions: ["net"],
  options: tcpOptions,
  create: (context, config) => openTcpTransport(config, context.clock, context.logger),
});
export default plugin;
