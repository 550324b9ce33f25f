/**
 * The key-value store's routes for the adaptive engine (`examples/kv/node.ts
 * --engine adaptive` serves them all; `switchyard node` only `GET /adaptive`):
 *
 * - `GET /adaptive` → the engine's epoch, engine, agreed mode, every
 *   member's latest report, the holds and the latest switches;
 * - `POST /adaptive/force` with `{ "mode": "internet" | "datacenter" |
 *   "hybrid" | null, "reason"?: string }` → this member asks for (or
 *   releases) a hold; `f + 1` members asking for the same mode move the
 *   cluster → `{ "outcome": "committed" }` once this node applied the request
 * - `PUT /adaptive/measurements` with `{ "rttMs"?, "bandwidthMbps"?,
 *   "lossRatio"? }` → what this node reports as its measurements from now
 *   on (every reporting round), in place of probes: for demos and tests on
 *   loopback, where every link measures as a rack → 204.
 *
 * Bad bodies get 400 naming the field; bodies over 64 KiB get 413.
 *
 * @module
 */
import { type Mode, MODES } from "../../mod.ts";
import type { NetworkSample } from "../../mod.ts";
import type { AdaptiveConsensus } from "../../plugins/consensus-adaptive/public.ts";
import { readBody } from "./body.ts";

const MAX_BODY_BYTES = 64 * 1024;

/** The routes, and the measurements a `PUT` set (undefined until one did). */
export interface AdaptiveRoutes {
  /** Answers `/adaptive` and `/adaptive/*`; undefined for any other path. */
  fetch(request: Request): Promise<Response> | undefined;
  /** The measurements to report now. */
  measured(): NetworkSample | undefined;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const bad = (message: string) => json({ error: { code: "INVALID_ARGUMENT", message } }, 400);

async function body(request: Request): Promise<unknown | Response> {
  const bytes = await readBody(request, MAX_BODY_BYTES);
  if (bytes === null) return json({ error: { code: "TOO_LARGE", message: "at most 64 KiB" } }, 413);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return bad("the body is not JSON");
  }
}

/**
 * The adaptive routes over `engine` (resolved once it exists). With
 * `measurements: false` (a node whose probes measure for real) there is no
 * `PUT /adaptive/measurements`; with `force: false` (a node whose holds go
 * through its admin endpoint, behind a token) no `POST /adaptive/force`.
 */
export function adaptiveRoutes(
  engine: () => AdaptiveConsensus<unknown> | undefined,
  options: { measurements?: boolean; force?: boolean } = {},
): AdaptiveRoutes {
  const acceptsMeasurements = options.measurements ?? true;
  const acceptsForce = options.force ?? true;
  let measured: NetworkSample | undefined;
  const handle = async (request: Request, path: string): Promise<Response> => {
    const adaptive = engine();
    if (!adaptive) return json({ error: { code: "UNAVAILABLE", message: "the engine is starting" } }, 503);
    if (path === "/adaptive" && request.method === "GET") return json(adaptive.adaptiveStats());
    if (path === "/adaptive/force" && request.method === "POST" && acceptsForce) {
      const input = await body(request);
      if (input instanceof Response) return input;
      const { mode, reason } = (input ?? {}) as { mode?: unknown; reason?: unknown };
      if (mode !== null && !MODES.includes(mode as Mode)) return bad(`mode must be one of ${MODES.join(", ")} or null`);
      if (reason !== undefined && (typeof reason !== "string" || reason.length > 1024)) {
        return bad("reason must be a string of at most 1024 characters");
      }
      const outcome = await adaptive.force(mode as Mode | null, (reason as string | undefined) ?? "operator");
      return json({ outcome });
    }
    if (path === "/adaptive/measurements" && request.method === "PUT" && acceptsMeasurements) {
      const input = await body(request);
      if (input instanceof Response) return input;
      const sample = input as Record<string, unknown>;
      if (typeof sample !== "object" || sample === null || Array.isArray(sample)) {
        return bad("the body must be an object");
      }
      for (const field of ["rttMs", "bandwidthMbps", "lossRatio"]) {
        const value = sample[field];
        if (value === undefined) continue;
        if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (field === "lossRatio" && value > 1)) {
          return bad(`${field} must be a finite number >= 0${field === "lossRatio" ? " and <= 1" : ""}`);
        }
      }
      measured = sample as NetworkSample;
      return new Response(null, { status: 204 });
    }
    const routes = [
      "GET /adaptive",
      ...(acceptsForce ? ["POST /adaptive/force"] : []),
      ...(acceptsMeasurements ? ["PUT /adaptive/measurements"] : []),
    ].join(", ");
    return json({ error: { code: "NOT_FOUND", message: routes } }, 404);
  };
  return {
    fetch(request) {
      const path = new URL(request.url).pathname;
      if (path !== "/adaptive" && !path.startsWith("/adaptive/")) return undefined;
      return handle(request, path).catch((error) =>
        json({ error: { code: (error as { code?: string }).code ?? "INTERNAL", message: String(error) } }, 503)
      );
    },
    measured: () => measured,
  };
}
