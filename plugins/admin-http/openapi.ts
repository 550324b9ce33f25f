/**
 * `GET /openapi.json`: the admin API described as OpenAPI 3.1. Request and
 * response bodies are generated from the valibot schemas of `schemas.ts`
 * (the request ones validate requests; the response ones are checked against
 * the handlers' types at compile time), and every status a route can answer
 * is listed with its body.
 *
 * @module
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import * as S from "./schemas.ts";

const schema = (s: v.GenericSchema) => {
  const { $schema: _, ...rest } = toJsonSchema(s, { target: "draft-2020-12", errorMode: "ignore" }) as Record<
    string,
    unknown
  >;
  return rest;
};

/** The named schemas of the document, by component name. */
const COMPONENT_SCHEMAS = {
  Error: S.ErrorBody,
  ForceMode: S.ForceModeBody,
  FlagsPatch: S.FlagsPatchBody,
  Health: S.HealthBody,
  Status: S.StatusBody,
  Stats: S.StatsBody,
  History: S.HistoryBody,
  Samples: S.SamplesBody,
  Cluster: S.ClusterBody,
  Components: S.ComponentsBody,
  Plugins: S.PluginsBody,
  Flags: S.FlagsBody,
  SwitchOutcome: S.SwitchOutcomeBody,
  Resume: S.ResumeBody,
  DetectionReport: S.DetectionReportBody,
} as const;

type SchemaName = keyof typeof COMPONENT_SCHEMAS;

/** One route: who may call it, what it takes, and what it answers with `200`. */
export interface Route {
  /** Lower-case HTTP method. */
  method: "get" | "post" | "patch" | "delete";
  /** The path. */
  path: string;
  /** One line on what it does. */
  summary: string;
  /** `none`: open; `read`: the token unless `openReads`; `write`: always the token. */
  auth: "none" | "read" | "write";
  /** The JSON request body's schema, for routes that take one. */
  body?: SchemaName;
  /** The `200` answer: its media type, and the schema of a JSON one. */
  ok: { media: string; schema?: SchemaName };
}

/** Every route, for the document, the README and the tests. */
export const ROUTES: readonly Route[] = [
  { method: "get", path: "/", summary: "The dashboard (HTML)", auth: "none", ok: { media: "text/html" } },
  {
    method: "get",
    path: "/healthz",
    summary: "Liveness: 200 while the process serves (no token needed)",
    auth: "none",
    ok: { media: "application/json", schema: "Health" },
  },
  {
    method: "get",
    path: "/status",
    summary: "Mode, since when, why, hold and cooldown, flapping, last sample, thresholds",
    auth: "read",
    ok: { media: "application/json", schema: "Status" },
  },
  {
    method: "get",
    path: "/stats",
    summary: "Everything getStats() reports",
    auth: "read",
    ok: { media: "application/json", schema: "Stats" },
  },
  {
    method: "get",
    path: "/history",
    summary: "Recent switches with reasons and outcomes",
    auth: "read",
    ok: { media: "application/json", schema: "History" },
  },
  {
    method: "get",
    path: "/samples",
    summary: "Recent detection rounds (time, merged sample, medians), oldest first",
    auth: "read",
    ok: { media: "application/json", schema: "Samples" },
  },
  {
    method: "get",
    path: "/cluster",
    summary:
      "The cluster as this node knows it: the mode agreement (null without one), the probes' per-peer results, and the agreement's recent decisions and proposals",
    auth: "read",
    ok: { media: "application/json", schema: "Cluster" },
  },
  {
    method: "get",
    path: "/components",
    summary: "Components and which implementation serves each",
    auth: "read",
    ok: { media: "application/json", schema: "Components" },
  },
  {
    method: "get",
    path: "/plugins",
    summary: "Every manifest plugin with state, version and reason",
    auth: "read",
    ok: { media: "application/json", schema: "Plugins" },
  },
  {
    method: "get",
    path: "/flags",
    summary: "Feature flags",
    auth: "read",
    ok: { media: "application/json", schema: "Flags" },
  },
  {
    method: "patch",
    path: "/flags",
    summary: "Change feature flags",
    auth: "write",
    body: "FlagsPatch",
    ok: { media: "application/json", schema: "Flags" },
  },
  {
    method: "post",
    path: "/mode",
    summary: "Force a mode (holds until DELETE /mode or holdMs); 409 when the switch is refused or rolled back",
    auth: "write",
    body: "ForceMode",
    ok: { media: "application/json", schema: "SwitchOutcome" },
  },
  {
    method: "delete",
    path: "/mode",
    summary: "Resume automatic detection",
    auth: "write",
    ok: { media: "application/json", schema: "Resume" },
  },
  {
    method: "post",
    path: "/detect",
    summary: "Measure now and apply the decision",
    auth: "write",
    ok: { media: "application/json", schema: "DetectionReport" },
  },
  { method: "get", path: "/metrics", summary: "Prometheus text format", auth: "read", ok: { media: "text/plain" } },
  {
    method: "get",
    path: "/events",
    summary: "Server-sent events: samples, switches, failures, flapping",
    auth: "read",
    ok: { media: "text/event-stream" },
  },
  { method: "get", path: "/openapi.json", summary: "This document", auth: "read", ok: { media: "application/json" } },
];

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ref("Error") } },
});

/** Answers shared by many routes, referenced from each. */
const SHARED_RESPONSES = {
  BadRequest: errorResponse("Invalid body; `error.issues` names each field"),
  Unauthorized: errorResponse("Missing or wrong bearer token (or no token configured)"),
  Conflict: errorResponse("The node refused the change (a SwitchyardError; `error.code` says which)"),
  PayloadTooLarge: errorResponse("Body larger than maxBodyBytes; the connection is closed after this answer"),
  UriTooLong: errorResponse("URL longer than maxUrlBytes"),
  UnsupportedMediaType: errorResponse("The body is not sent as application/json"),
  MisdirectedRequest: errorResponse("The Host header names a host this endpoint does not answer for (allowedHosts)"),
  Internal: errorResponse("Internal error; details are in the node's log, never in the answer"),
} as const;

const shared = (name: keyof typeof SHARED_RESPONSES) => ({ $ref: `#/components/responses/${name}` });

/** The statuses `route` can answer, each with its description and body. */
function responsesOf(route: Route): Record<string, unknown> {
  const okSchema = route.ok.schema
    ? ref(route.ok.schema)
    : route.ok.media === "application/json"
    ? { type: "object" }
    : { type: "string" };
  const responses: Record<string, unknown> = {
    "200": { description: "OK", content: { [route.ok.media]: { schema: okSchema } } },
  };
  if (route.body) {
    responses["400"] = shared("BadRequest");
    responses["415"] = shared("UnsupportedMediaType");
  }
  if (route.auth !== "none") responses["401"] = shared("Unauthorized");
  if (route.auth === "write") {
    responses["409"] = route.path === "/mode" && route.method === "post"
      ? {
        description: "The switch was refused (the mode cannot be served) or failed and was rolled back: its outcome;" +
          " or another refusal as an error",
        content: { "application/json": { schema: { anyOf: [ref("SwitchOutcome"), ref("Error")] } } },
      }
      : shared("Conflict");
    responses["413"] = shared("PayloadTooLarge");
  }
  responses["414"] = shared("UriTooLong");
  responses["421"] = shared("MisdirectedRequest");
  responses["500"] = shared("Internal");
  return responses;
}

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    paths[route.path] = {
      ...paths[route.path],
      [route.method]: {
        summary: route.summary,
        ...(route.auth === "none" ? { security: [] } : {}),
        ...(route.body
          ? { requestBody: { required: true, content: { "application/json": { schema: ref(route.body) } } } }
          : {}),
        responses: responsesOf(route),
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchyard admin API",
      version: "0.1.0",
      description: "Every error answer is `{ error: { code, message, issues? } }`; an unknown route gets 404 with it.",
    },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: Object.fromEntries(Object.entries(COMPONENT_SCHEMAS).map(([name, s]) => [name, schema(s)])),
      responses: SHARED_RESPONSES,
    },
  };
}
