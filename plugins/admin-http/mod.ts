/**
 * `admin-http`: steer and observe a node over HTTP. A Hono app served with
 * `Deno.serve` or `Bun.serve`: status, stats, history, components, plugins,
 * flags, forcing and resuming modes, on-demand detection, Prometheus metrics,
 * server-sent events, an OpenAPI document and a live dashboard at `/`.
 *
 * Security: every mutating route needs the bearer token (compared in constant
 * time); reads too unless `openReads`; the default bind address is 127.0.0.1,
 * and binding anywhere else without a token is refused at start; bodies are
 * capped at `maxBodyBytes`; errors never carry stack traces.
 *
 * @module
 */
import { env } from "node:process";
import * as v from "valibot";
import { SwitchyardError } from "../../core/errors.ts";
import { definePlugin, type Plugin } from "../../core/plugin.ts";
import { createAdminApp } from "./app.ts";
import { type RunningServer, serve } from "./serve.ts";

const options = v.strictObject({
  /** Address to bind; non-loopback addresses need a token. */
  hostname: v.optional(v.pipe(v.string(), v.minLength(1)), "127.0.0.1"),
  /** Port; 0 picks a free one. */
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65_535)), 7070),
  /** The bearer token (at least 16 characters). */
  token: v.optional(v.pipe(v.string(), v.minLength(16, "must be at least 16 characters"))),
  /** Name of an environment variable holding the token, instead of `token`. */
  tokenEnv: v.optional(v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name"))),
  /** Let reads through without a token. */
  openReads: v.optional(v.boolean(), false),
  /** Largest request body accepted (413 beyond it). */
  maxBodyBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(64), v.maxValue(1_048_576)), 16_384),
  /** SSE heartbeat interval. */
  heartbeatMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100)), 10_000),
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

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** The plugin. */
const plugin: Plugin<AdminHttpOptions, AdminHttp> = definePlugin({
  id: "admin-http",
  version: "0.1.0",
  kind: "extension",
  description: "HTTP admin API, Prometheus metrics, server-sent events and a live dashboard (Hono).",
  modes: ["datacenter", "internet", "hybrid"],
  provides: ["admin:http"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun"] },
  permissions: ["net"],
  options,
  async create(context, config) {
    const manager = context.manager;
    if (!manager) throw new SwitchyardError("PLUGIN_INVALID", "admin-http needs the manager (it is an extension)");
    const token = config.token ?? (config.tokenEnv ? env[config.tokenEnv] : undefined);
    if (config.tokenEnv && !token) {
      throw new SwitchyardError("PLUGIN_INVALID", `admin-http: environment variable ${config.tokenEnv} is not set`);
    }
    if (!LOOPBACK.test(config.hostname) && !token) {
      throw new SwitchyardError(
        "PLUGIN_INVALID",
        `admin-http: refusing to bind ${config.hostname} without a token; set "token" or "tokenEnv", or bind 127.0.0.1`,
      );
    }
    if (!token) context.logger.warn("admin-http has no token: changes are refused and reads need openReads");
    const app = createAdminApp(manager, { ...config, ...(token ? { token } : {}) });
    const server: RunningServer = await serve({ hostname: config.hostname, port: config.port, fetch: app.fetch });
    const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
    const url = `http://${host}:${server.port}`;
    context.logger.info(`admin-http listening on ${url}`);
    return { url, port: server.port, close: () => server.close() };
  },
});
export default plugin;
