/**
 * `admin-http`: steer and observe a node over HTTP. A Hono app served with
 * `Deno.serve`, `Bun.serve` or, on Node, Hono's Node adapter: status, stats, history, components, plugins,
 * flags, the cluster as this node knows it (its mode agreement, per-peer
 * probe results), forcing and resuming modes, on-demand detection, Prometheus
 * metrics, server-sent events, an OpenAPI document and a live dashboard at `/`.
 *
 * Security: every mutating route needs the bearer token (compared in constant
 * time; at least 16 characters without whitespace, from `token` or
 * `tokenEnv`); reads too unless `openReads`; the default bind address is
 * 127.0.0.1, and binding anywhere else without a token is refused at start;
 * bound to loopback, only loopback `Host` names (and `allowedHosts`) are
 * answered (421 otherwise: no DNS rebinding); URLs are capped at
 * `maxUrlBytes` (414), bodies at `maxBodyBytes` (413, connection closed) and
 * must be JSON (415); each SSE client's queue at `sseMaxQueuedEvents`; the
 * dashboard has a strict CSP and may not be framed; errors never carry stack
 * traces.
 *
 * @module
 */
import { env } from "node:process";
import * as v from "valibot";
import { SwitchyardError, ValidationError } from "../../core/util/errors.ts";
import type { Plugin } from "../../core/loading/plugin.ts";
import { builtinPlugin } from "../builtin_plugin.ts";
import { createAdminHandler } from "./app.ts";
import { tokenProblem } from "./auth.ts";
import { hostChecker, isLoopback } from "./guard.ts";
import { recordCluster } from "./cluster.ts";
import { recordRecentSamples } from "./recent_samples.ts";
import { type RunningServer, serve } from "./serve.ts";

const options = v.strictObject({
  /** Address to bind; non-loopback addresses need a token. */
  hostname: v.optional(v.pipe(v.string(), v.minLength(1)), "127.0.0.1"),
  /** Port; 0 picks a free one. */
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535)), 7070),
  /** The bearer token (at least 16 characters, no whitespace). */
  token: v.optional(
    v.pipe(
      v.string(),
      v.minLength(16, "must be at least 16 characters"),
      v.regex(/^\S+$/, "must not contain whitespace (an Authorization header cannot carry it)"),
    ),
  ),
  /** Name of an environment variable holding the token, instead of `token`; its value follows the same rules. */
  tokenEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name"))),
  /** Let reads through without a token. */
  openReads: v.optional(v.boolean(), false),
  /**
   * `Host` values answered besides the loopback names, each `name` (any port)
   * or `name:port`; others get `421`. Bound beyond loopback, only these are
   * answered when any are set.
   */
  allowedHosts: v.optional(v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(260))), []),
  /** Largest request body accepted (413 beyond it). */
  maxBodyBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(64), v.maxValue(1_048_576)), 16_384),
  /**
   * Longest request URL accepted (414 beyond it). At most 12288: longer ones
   * would meet the runtimes' own head limits first (Bun and Node 16 KiB, Deno 64 KiB).
   */
  maxUrlBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(256), v.maxValue(12_288)), 8_192),
  /** SSE heartbeat interval. */
  heartbeatMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 10_000),
  /** Events (heartbeats included) that may wait for one SSE client that does not read before it is dropped. */
  sseMaxQueuedEvents: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)), 256),
  /** Detection rounds kept for `GET /samples` (the dashboard's charts on load). */
  recentSamples: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 300),
  /** Changes of the cluster's agreement kept for `GET /cluster` (the dashboard's Cluster panel and timeline). */
  recentClusterEvents: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)), 500),
});

/** The options, validated. */
export type AdminHttpOptions = v.InferOutput<typeof options>;

/** A running admin endpoint. */
export interface AdminHttp {
  /** Where it listens, e.g. `http://127.0.0.1:7070`. */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Stops serving. */
  close(): Promise<void>;
}

/** The token `config` names, checked; throws a `ValidationError` naming `token` or `tokenEnv`. */
function resolveToken(config: AdminHttpOptions): string | undefined {
  if (config.token !== undefined || !config.tokenEnv) return config.token;
  const value = env[config.tokenEnv];
  if (value === undefined || value === "") {
    throw new SwitchyardError("PLUGIN_INVALID", `admin-http: environment variable ${config.tokenEnv} is not set`);
  }
  const problem = tokenProblem(value);
  if (problem) {
    throw new ValidationError("PLUGIN_INVALID", "admin-http options", [
      { path: "tokenEnv", message: `the token in ${config.tokenEnv} ${problem}` },
    ]);
  }
  return value;
}

/** The plugin. */
const plugin: Plugin<"extension", AdminHttpOptions, AdminHttp> = builtinPlugin({
  id: "admin-http",
  kind: "extension",
  description: "HTTP admin API, Prometheus metrics, server-sent events and a live dashboard (Hono).",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["admin:http"],
  permissions: ["net"],
  options,
  async create(context, config) {
    const manager = context.host;
    const token = resolveToken(config);
    if (!isLoopback(config.hostname) && !token) {
      throw new SwitchyardError(
        "PLUGIN_INVALID",
        `admin-http: refusing to bind ${config.hostname} without a token; set "token" or "tokenEnv", or bind 127.0.0.1`,
      );
    }
    if (!token) context.logger.warn("admin-http has no token: changes are refused and reads need openReads");
    const bound: { port?: number } = {};
    const hostAllowed = hostChecker({
      hostname: config.hostname,
      port: () => bound.port,
      allowedHosts: config.allowedHosts,
    });
    const recentSamples = recordRecentSamples(manager, config.recentSamples);
    const cluster = recordCluster(manager, config.recentClusterEvents);
    const handler = createAdminHandler(manager, {
      ...config,
      ...(token ? { token } : {}),
      ...(hostAllowed ? { hostAllowed } : {}),
      recentSamples,
      cluster,
    });
    let server: RunningServer;
    try {
      server = await serve({ hostname: config.hostname, port: config.port, fetch: handler });
    } catch (error) {
      recentSamples.close();
      cluster.close();
      throw error;
    }
    bound.port = server.port;
    const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
    const url = `http://${host}:${server.port}`;
    context.logger.info(`admin-http listening on ${url}`);
    return {
      url,
      port: server.port,
      close: async () => {
        recentSamples.close();
        cluster.close();
        await server.close();
      },
    };
  },
});
export default plugin;
