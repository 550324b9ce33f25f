/**
 * The admin API as a Hono app, runtime-neutral: the plugin serves it with
 * `Deno.serve` or `Bun.serve` behind {@linkcode createAdminHandler}, which
 * checks the URL's length and the `Host` header before routing.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import * as v from "valibot";
import { SwitchyardError, toError, ValidationError } from "../../core/util/errors.ts";
import type { ExtensionHost } from "../../core/control/extension_host.ts";
import { toFieldIssues } from "../../core/util/validation.ts";
import { bearerToken, tokenChecker } from "./auth.ts";
import { type BodyRefusal, isJsonMediaType, mediaTypeRefusal, readBodyCapped } from "./body.ts";
import { DASHBOARD_HEADERS, dashboardHtml } from "./dashboard.ts";
import { eventStream } from "./events.ts";
import { truncate } from "./guard.ts";
import { openApiDocument } from "./openapi.ts";
import { renderPrometheus } from "./prometheus.ts";
import type { RecentSamples } from "./recent_samples.ts";
import type { ClusterRecord } from "./cluster.ts";
import { FlagsPatchBody, ForceModeBody } from "./schemas.ts";

/** How the app authenticates and bounds requests. */
export interface AdminAppOptions {
  /** The bearer token; without one, mutating routes are refused. */
  token?: string;
  /** Let reads through without a token. */
  openReads: boolean;
  /** Largest request body accepted. */
  maxBodyBytes: number;
  /** Longest request URL accepted (`414` beyond it). */
  maxUrlBytes: number;
  /** SSE heartbeat interval. */
  heartbeatMs: number;
  /** Events that may wait for one SSE client before it is dropped. */
  sseMaxQueuedEvents: number;
  /** Which `Host` values are answered (`421` for others); undefined: every one. */
  hostAllowed?: (host: string | null) => boolean;
  /** The recent detection rounds `GET /samples` returns. */
  recentSamples: RecentSamples;
  /** The agreement's recent changes and the cluster view `GET /cluster` returns. */
  cluster: ClusterRecord;
}

type Fail = { status: number; code: string; message: string; issues?: unknown };

/**
 * JSON answers carry their content type only. Deno builds a response with a
 * lone content-type about 3 µs faster than one with more headers (a fifth of
 * a `GET /stats` round trip here); `no-store` and `nosniff` matter for the
 * HTML dashboard, which keeps them, not for `application/json` that carries
 * no validators (nothing caches it) and that browsers never render.
 */
const JSON_HEADERS = { "content-type": "application/json; charset=UTF-8" };

/** A JSON response with the standard headers. */
function json(data: unknown, status = 200, extra?: Record<string, string>): Response {
  return new Response(JSON.stringify(data), { status, headers: extra ? { ...JSON_HEADERS, ...extra } : JSON_HEADERS });
}

const failure = ({ status, code, message, issues }: Fail, extra?: Record<string, string>) =>
  json({ error: { code, message, ...(issues ? { issues } : {}) } }, status, extra);

/** A request refused before its handler ran (`413`, `415`), thrown from the body readers. */
class Refused extends SwitchyardError<string> {
  constructor(readonly refusal: BodyRefusal) {
    super(refusal.code, refusal.message);
    this.name = "Refused";
  }
}

/**
 * The admin endpoint's request handler: the URL's length (`414`) and the
 * `Host` header (`421`) are checked first, then the app routes.
 */
export function createAdminHandler(
  manager: ExtensionHost,
  options: AdminAppOptions,
): (request: Request) => Response | Promise<Response> {
  const app = createAdminApp(manager, options);
  const { maxUrlBytes, hostAllowed } = options;
  return (request) => {
    if (request.url.length > maxUrlBytes) {
      return failure({
        status: 414,
        code: "URI_TOO_LONG",
        message: `the request URL has ${request.url.length} characters; at most ${maxUrlBytes} are accepted`,
      });
    }
    if (hostAllowed && !hostAllowed(request.headers.get("host"))) {
      const host = request.headers.get("host");
      return failure({
        status: 421,
        code: "HOST_NOT_ALLOWED",
        message: `this endpoint does not answer for host ${
          host === null ? "(none)" : JSON.stringify(truncate(host))
        }; add it to the admin-http plugin's allowedHosts`,
      });
    }
    return app.fetch(request);
  };
}

/** Builds the admin app for `manager` (routes only; {@linkcode createAdminHandler} adds the checks before routing). */
export function createAdminApp(manager: ExtensionHost, options: AdminAppOptions): Hono {
  const app = new Hono();
  const matches = options.token ? tokenChecker(options.token) : () => false;

  /** Why `c` may not proceed, as a response, or undefined when it may. */
  const deny = (c: Context, mutating: boolean): Response | undefined => {
    if (!mutating && options.openReads) return undefined;
    if (!options.token) {
      return failure({
        status: 401,
        code: "UNAUTHORIZED",
        message: mutating
          ? "no admin token is configured, so changes are refused; set the admin-http plugin's token"
          : "no admin token is configured; set a token, or openReads: true",
      });
    }
    const presented = bearerToken(c.req.raw.headers.get("authorization"));
    if (!presented || !matches(presented)) {
      return failure(
        { status: 401, code: "UNAUTHORIZED", message: "missing or wrong bearer token" },
        { "WWW-Authenticate": 'Bearer realm="switchyard"' },
      );
    }
    return undefined;
  };
  /** A read route: the check inline, no middleware layer. */
  const read = (handler: (c: Context) => Response | Promise<Response>) => (c: Context) => deny(c, false) ?? handler(c);
  const write: MiddlewareHandler = async (c, next) => deny(c, true) ?? await next();

  /** The body of a JSON route, validated: `415` unless JSON, `413` when too large, `400` when invalid. */
  async function body<T extends v.GenericSchema>(c: Context, schema: T): Promise<v.InferOutput<T>> {
    const contentType = c.req.raw.headers.get("content-type");
    if (!isJsonMediaType(contentType)) {
      await c.req.raw.body?.cancel().catch(() => {});
      throw new Refused(mediaTypeRefusal(contentType));
    }
    const bytes = await readBodyCapped(c.req.raw, options.maxBodyBytes);
    if (!(bytes instanceof Uint8Array)) throw new Refused(bytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new ValidationError("INVALID_ARGUMENT", "request body", [{ path: "", message: "must be a JSON object" }]);
    }
    const result = v.safeParse(schema, parsed, { abortEarly: false });
    if (!result.success) throw new ValidationError("INVALID_ARGUMENT", "request body", toFieldIssues(result.issues));
    return result.output;
  }
  /** A route that takes no body: one sent anyway is read up to `maxBodyBytes` (`413` beyond) and ignored. */
  async function noBody(c: Context): Promise<void> {
    const bytes = await readBodyCapped(c.req.raw, options.maxBodyBytes);
    if (!(bytes instanceof Uint8Array)) throw new Refused(bytes);
  }

  // Set before the handler runs: headers added after it would make Hono rebuild the response.
  app.get("/", (c) => c.html(dashboardHtml(), 200, DASHBOARD_HEADERS));
  app.get("/healthz", () => json({ ok: true, nodeId: manager.nodeId, running: manager.getStats().running }));
  app.get(
    "/status",
    read(() => {
      const stats = manager.getStats();
      const config = manager.config;
      return json({
        nodeId: stats.nodeId,
        mode: stats.currentMode,
        variant: stats.variant,
        since: stats.lastModeChange,
        reason: stats.lastModeChangeReason,
        automatic: stats.forced === null,
        forced: stats.forced,
        running: stats.running,
        flapping: stats.flapping,
        nowMs: manager.clock.now(),
        cooldownRemainingMs: stats.cooldownRemainingMs,
        lastSample: stats.lastSample,
        summary: stats.summary,
        unavailableModes: stats.unavailableModes,
        thresholds: {
          datacenterLatencyThresholdMs: config.datacenterLatencyThresholdMs,
          internetLatencyThresholdMs: config.internetLatencyThresholdMs,
          datacenterBandwidthThresholdMbps: config.datacenterBandwidthThresholdMbps,
          internetBandwidthThresholdMbps: config.internetBandwidthThresholdMbps,
          datacenterLossThreshold: config.datacenterLossThreshold,
          internetLossThreshold: config.internetLossThreshold,
          hysteresis: config.hysteresis,
        },
      });
    }),
  );
  app.get("/stats", read(() => json(manager.getStats())));
  app.get("/history", read(() => json(manager.getStats().history)));
  app.get("/samples", read(() => json({ samples: options.recentSamples.list() })));
  app.get("/cluster", read(() => json(options.cluster.view())));
  app.get("/components", read(() => json(manager.getStats().components)));
  app.get("/plugins", read(() => json(manager.getStats().plugins)));
  app.get("/flags", read(() => json(manager.flags.values)));
  app.patch("/flags", write, async (c) => json(manager.flags.update(await body(c, FlagsPatchBody))));
  app.post("/mode", write, async (c) => {
    const { mode, reason, holdMs } = await body(c, ForceModeBody);
    const outcome = await manager.forceMode(mode, reason, holdMs === undefined ? {} : { holdMs });
    return json(outcome, outcome.status === "failed" || outcome.status === "refused" ? 409 : 200);
  });
  app.delete("/mode", write, async (c) => {
    await noBody(c);
    manager.resumeAutoDetection();
    return json({ automatic: true, mode: manager.currentMode });
  });
  app.post("/detect", write, async (c) => {
    await noBody(c);
    return json(await manager.detectNow());
  });
  app.get(
    "/metrics",
    read(() =>
      new Response(renderPrometheus(manager), {
        headers: { ...JSON_HEADERS, "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      })
    ),
  );
  app.get(
    "/events",
    read(() => eventStream(manager, { heartbeatMs: options.heartbeatMs, maxQueuedEvents: options.sseMaxQueuedEvents })),
  );
  app.get("/openapi.json", read(() => json(openApiDocument())));

  app.notFound((c) =>
    failure({ status: 404, code: "NOT_FOUND", message: `no route ${c.req.method} ${truncate(c.req.path)}` })
  );
  app.onError((error, c) => {
    if (error instanceof Refused) {
      // A body cut off part-way leaves the rest unread on the socket: close it rather than drain it.
      const { status, code, message } = error.refusal;
      return failure({ status, code, message }, status === 413 ? { connection: "close" } : undefined);
    }
    if (error instanceof ValidationError) {
      return failure({ status: 400, code: error.code, message: error.message, issues: error.issues });
    }
    if (error instanceof SwitchyardError) return failure({ status: 409, code: error.code, message: error.message });
    manager.logger.error("admin request failed", { path: truncate(c.req.path), error: toError(error).message });
    return failure({ status: 500, code: "INTERNAL", message: "internal error (details are in the node's log)" });
  });
  return app;
}
