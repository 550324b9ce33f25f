/**
 * A typed client for the admin API, used by the CLI and the tests.
 *
 * @module
 */
import type { FeatureFlagsPatch, FeatureFlagValues } from "../../core/flags.ts";
import type { SwitchRecord } from "../../core/history.ts";
import type { DetectionReport, HybridStats } from "../../core/manager.ts";
import type { Mode } from "../../core/mode.ts";
import type { SwitchOutcome } from "../../core/orchestrator.ts";

/** An error answer of the admin API. */
export class AdminApiError extends Error {
  /** Creates the error from a response: HTTP status, error code, message, and field issues for a 400. */
  constructor(readonly status: number, readonly code: string, message: string, readonly issues?: unknown) {
    super(`${status} ${code}: ${message}`);
    this.name = "AdminApiError";
  }
}

/** What `GET /status` returns. */
export interface AdminStatus {
  /** The node's id. */
  nodeId: string;
  /** The mode served now. */
  mode: Mode;
  /** `v1` or `v3`. */
  variant: string;
  /** When the mode last changed (clock ms), or null. */
  since: number | null;
  /** Why it last changed, or null. */
  reason: string | null;
  /** False while an operator holds the mode. */
  automatic: boolean;
  /** The operator's hold, or null. */
  forced: HybridStats["forced"];
  /** Whether detection runs. */
  running: boolean;
  /** Whether the flapping alarm is raised. */
  flapping: boolean;
  /** The last round's merged sample. */
  lastSample: HybridStats["lastSample"];
  /** The medians decisions use. */
  summary: HybridStats["summary"];
  /** The configured thresholds and hysteresis. */
  thresholds: Record<string, number>;
}

/** The admin API's calls. */
export interface AdminClient {
  /** `GET /healthz`. */
  health(): Promise<{ ok: boolean; nodeId: string }>;
  /** `GET /status`. */
  status(): Promise<AdminStatus>;
  /** `GET /stats`. */
  stats(): Promise<HybridStats>;
  /** `GET /history`. */
  history(): Promise<SwitchRecord[]>;
  /** `GET /flags`. */
  flags(): Promise<FeatureFlagValues>;
  /** `PATCH /flags`. */
  setFlags(patch: FeatureFlagsPatch): Promise<FeatureFlagValues>;
  /** `POST /mode`. */
  forceMode(mode: Mode, reason: string, holdMs?: number): Promise<SwitchOutcome>;
  /** `DELETE /mode`. */
  resume(): Promise<{ automatic: boolean; mode: Mode }>;
  /** `POST /detect`. */
  detect(): Promise<DetectionReport>;
  /** `GET /metrics`, as text. */
  metrics(): Promise<string>;
}

/**
 * Creates a client for the admin API at `baseUrl`.
 *
 * @example
 * ```ts ignore
 * const admin = adminClient("http://127.0.0.1:7070", Deno.env.get("SWITCHYARD_TOKEN"));
 * await admin.forceMode("internet", "maintenance");
 * console.log((await admin.status()).mode);
 * ```
 */
export function adminClient(baseUrl: string, token?: string): AdminClient {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(new URL(path, baseUrl), {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!response.ok && !(response.status === 409 && data?.status)) {
      throw new AdminApiError(
        response.status,
        data?.error?.code ?? "HTTP",
        data?.error?.message ?? text,
        data?.error?.issues,
      );
    }
    return data as T;
  }
  return {
    health: () => call<{ ok: boolean; nodeId: string }>("GET", "/healthz"),
    status: () => call<AdminStatus>("GET", "/status"),
    stats: () => call<HybridStats>("GET", "/stats"),
    history: () => call<SwitchRecord[]>("GET", "/history"),
    flags: () => call<FeatureFlagValues>("GET", "/flags"),
    setFlags: (patch: FeatureFlagsPatch) => call<FeatureFlagValues>("PATCH", "/flags", patch),
    forceMode: (mode: Mode, reason: string, holdMs?: number) =>
      call<SwitchOutcome>("POST", "/mode", { mode, reason, ...(holdMs === undefined ? {} : { holdMs }) }),
    resume: () => call<{ automatic: boolean; mode: Mode }>("DELETE", "/mode"),
    detect: () => call<DetectionReport>("POST", "/detect"),
    metrics: async () => {
      const response = await fetch(new URL("/metrics", baseUrl), {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      if (!response.ok) throw new AdminApiError(response.status, "HTTP", await response.text());
      return await response.text();
    },
  };
}
