/**
 * `GET /openapi.json`: the admin API described as OpenAPI 3.1, with request
 * bodies generated from the same valibot schemas that validate them.
 *
 * @module
 */
import { toJsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { ErrorBody, FlagsPatchBody, ForceModeBody } from "./schemas.ts";

const schema = (s: v.GenericSchema) => {
  const { $schema: _, ...rest } = toJsonSchema(s, { errorMode: "ignore" }) as Record<string, unknown>;
  return rest;
};

type Route = { method: string; path: string; summary: string; body?: string; mutates?: boolean; produces?: string };

/** Every route, for the document and the README. */
export const ROUTES: readonly Route[] = [
  { method: "get", path: "/healthz", summary: "Liveness: 200 while the process serves (no token needed)" },
  { method: "get", path: "/status", summary: "Mode, since when, why, forced or automatic, last sample, thresholds" },
  { method: "get", path: "/stats", summary: "Everything getStats() reports" },
  { method: "get", path: "/history", summary: "Recent switches with reasons and outcomes" },
  { method: "get", path: "/components", summary: "Components and which implementation serves each" },
  { method: "get", path: "/plugins", summary: "Every manifest plugin with state, version and reason" },
  { method: "get", path: "/flags", summary: "Feature flags" },
  { method: "patch", path: "/flags", summary: "Change feature flags", body: "FlagsPatch", mutates: true },
  {
    method: "post",
    path: "/mode",
    summary: "Force a mode (holds until DELETE /mode or holdMs)",
    body: "ForceMode",
    mutates: true,
  },
  { method: "delete", path: "/mode", summary: "Resume automatic detection", mutates: true },
  { method: "post", path: "/detect", summary: "Measure now and apply the decision", mutates: true },
  { method: "get", path: "/metrics", summary: "Prometheus text format", produces: "text/plain" },
  {
    method: "get",
    path: "/events",
    summary: "Server-sent events: samples, switches, failures, flapping",
    produces: "text/event-stream",
  },
  { method: "get", path: "/openapi.json", summary: "This document" },
];

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES) {
    const responses: Record<string, unknown> = {
      "200": { description: "OK", content: { [route.produces ?? "application/json"]: {} } },
      "401": {
        description: "Missing or wrong bearer token",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    };
    if (route.body) {
      responses["400"] = {
        description: "Invalid body; issues name each field",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
      responses["413"] = { description: "Body too large" };
    }
    paths[route.path] = {
      ...paths[route.path],
      [route.method]: {
        summary: route.summary,
        ...(route.path === "/healthz" ? { security: [] } : {}),
        ...(route.body
          ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: { $ref: `#/components/schemas/${route.body}` } } },
            },
          }
          : {}),
        responses,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Switchyard admin API", version: "0.1.0" },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: { ForceMode: schema(ForceModeBody), FlagsPatch: schema(FlagsPatchBody), Error: schema(ErrorBody) },
    },
  };
}
