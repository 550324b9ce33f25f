/**
 * The admin API as a Hono app, runtime-neutral: the plugin serves it with
 * `Deno.serve` or `Bun.serve`, tests can call `app.request()` directly.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import * as v from "valibot";
import { SwitchyardError, toError, ValidationError } from "../../core/errors.ts";
import type { HybridManager } from "../../core/manager.ts";
import { toFieldIssues } from "../../core/validation.ts";
import { bearerToken, tokensMatch } from "./auth.ts";
import { dashboardHtml } from "./dashboard.ts";
import { eventStream } from "./events.ts";
import { openApiDocument } from "./openapi.ts";
import { renderPrometheus } from "./prometheus.ts";
import { FlagsPatchBody, ForceModeBody } from "./schemas.ts";

/** How the app authenticates and bounds requests. */
export interface AdminAppOptions {
  /** The bearer token; without one, mutating routes are refused. */
  token?: string;
  /** Let reads through without a token. */
  openReads: boolean;
  /** Largest request body accepted. */
  maxBodyBytes: number;
  /** SSE heartbeat interval. */
  heartbeatMs: number;
}

type Fail = { status: 400 | 401 | 404 | 409 | 413 | 500; code: string; message: string; issues?: unknown };

const failure = (c: Context, { status, code, message, issues }: Fail) =>
  c.json({ error: { code, message, ...(issues ? { issues } : {}) } }, status);

/** Builds the admin app for `manager`. */
export function createAdminApp(manager: HybridManager, options: AdminAppOptions): Hono {
  const app = new Hono();

  const authorize = (mutating: boolean): MiddlewareHandler => async (c, next) => {
    if (!mutating && options.openReads) return await next();
    if (!options.token) {
      return failure(c, {
        status: 401,
        code: "UNAUTHORIZED",
        message: mutating
          ? "no admin token is configured, so changes are refused; set the admin-http plugin's token"
          : "no admin token is configured; set a token, or openReads: true",
      });
    }
    const presented = bearerToken(c.req.header("authorization"));
    if (!presented || !(await tokensMatch(presented, options.token))) {
      c.header("WWW-Authenticate", 'Bearer realm="switchyard"');
      return failure(c, { status: 401, code: "UNAUTHORIZED", message: "missing or wrong bearer token" });
    }
    return await next();
  };
  const limit = bodyLimit({
    maxSize: options.maxBodyBytes,
    onError: (c) =>
      failure(c, {
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        message: `request body exceeds ${options.maxBodyBytes} bytes`,
      }),
  });
  const read = authorize(false);
  const write = [authorize(true), limit] as const;

  async function body<T extends v.GenericSchema>(c: Context, schema: T): Promise<v.InferOutput<T>> {
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      throw new ValidationError("INVALID_ARGUMENT", "request body", [{ path: "", message: "must be a JSON object" }]);
    }
    const result = v.safeParse(schema, json, { abortEarly: false });
    if (!result.success) throw new ValidationError("INVALID_ARGUMENT", "request body", toFieldIssues(result.issues));
    return result.output;
  }

  app.use("*", async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
  });

  app.get("/", (c) => c.html(dashboardHtml()));
  app.get("/healthz", (c) => c.json({ ok: true, nodeId: manager.nodeId, running: manager.getStats().running }));
  app.get("/status", read, (c) => {
    const stats = manager.getStats();
    const config = manager.config;
    return c.json({
      nodeId: stats.nodeId,
      mode: stats.currentMode,
      variant: stats.variant,
      since: stats.lastModeChange,
      reason: stats.lastModeChangeReason,
      automatic: stats.forced === null,
      forced: stats.forced,
      running: stats.running,
      flapping: stats.flapping,
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
  });
  app.get("/stats", read, (c) => c.json(manager.getStats()));
  app.get("/history", read, (c) => c.json(manager.getStats().history));
  app.get("/components", read, (c) => c.json(manager.getStats().components));
  app.get("/plugins", read, (c) => c.json(manager.getStats().plugins));
  app.get("/flags", read, (c) => c.json(manager.flags.values));
  app.patch("/flags", ...write, async (c) => c.json(manager.flags.update(await body(c, FlagsPatchBody))));
  app.post("/mode", ...write, async (c) => {
    const { mode, reason, holdMs } = await body(c, ForceModeBody);
    const outcome = await manager.forceMode(mode, reason, holdMs === undefined ? {} : { holdMs });
    return c.json(outcome, outcome.status === "failed" || outcome.status === "refused" ? 409 : 200);
  });
  app.delete("/mode", ...write, (c) => {
    manager.resumeAutoDetection();
    return c.json({ automatic: true, mode: manager.currentMode });
  });
  app.post("/detect", ...write, async (c) => c.json(await manager.detectNow()));
  app.get(
    "/metrics",
    read,
    (c) => c.text(renderPrometheus(manager), 200, { "Content-Type": "text/plain; version=0.0.4" }),
  );
  app.get("/events", read, (c) => eventStream(c, manager, options.heartbeatMs));
  app.get("/openapi.json", read, (c) => c.json(openApiDocument()));

  app.notFound((c) =>
    failure(c, { status: 404, code: "NOT_FOUND", message: `no route ${c.req.method} ${c.req.path}` })
  );
  app.onError((error, c) => {
    if (error instanceof ValidationError) {
      return failure(c, { status: 400, code: error.code, message: error.message, issues: error.issues });
    }
    if (error instanceof SwitchyardError) return failure(c, { status: 409, code: error.code, message: error.message });
    manager.logger.error("admin request failed", { path: c.req.path, error: toError(error).message });
    return failure(c, { status: 500, code: "INTERNAL", message: "internal error (details are in the node's log)" });
  });
  return app;
}
