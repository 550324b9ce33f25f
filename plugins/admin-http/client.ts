/**
 * A typed client for the admin API, used by the CLI and the tests.
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import type { FeatureFlagsPatch, FeatureFlagValues } from "../../core/control/flags.ts";
import type { SwitchRecord } from "../../core/control/history.ts";
import type { DetectionReport, HybridStats } from "../../core/control/manager_stats.ts";
import type { Mode } from "../../core/contracts/mode.ts";
import type { SwitchOutcome } from "../../core/control/orchestrator.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";
import type { ModeAgreementStats } from "../../core/contracts/mode_agreement.ts";
import type { PeerMeasurement } from "../../core/contracts/probe.ts";
import type { LinkStatus } from "../../core/control/link_modes.ts";

/**
 * An error answer of the admin API: `code` is the endpoint's own code
 * (`UNAUTHORIZED`, `INVALID_ARGUMENT`, …), `NOT_JSON` when the answer was
 * not JSON, or `HTTP` when an error answer named no code.
 */
export class AdminApiError extends SwitchyardError<string> {
  /** Creates the error from a response: HTTP status, error code, message, and field issues for a 400. */
  constructor(readonly status: number, code: string, message: string, readonly issues?: unknown) {
    super(code, `${status} ${code}: ${message}`);
    this.name = "AdminApiError";
  }
}

/**
 * The admin endpoint could not be reached at all (refused, unknown host,
 * reset), code `ADMIN_UNREACHABLE`: `url` is the address tried,
 * `networkCode` a short cause such as `ECONNREFUSED` or `ENOTFOUND` when one
 * is known, and the message names both.
 */
export class AdminConnectionError extends SwitchyardError<"ADMIN_UNREACHABLE"> {
  /** Creates the error for a failed request to `url`, keeping the runtime's error as `cause`. */
  constructor(
    readonly url: string,
    readonly networkCode: string | undefined,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(
      "ADMIN_UNREACHABLE",
      `cannot reach ${url}: ${networkCode && !detail.includes(networkCode) ? `${networkCode} (${detail})` : detail}`,
      options,
    );
    this.name = "AdminConnectionError";
  }
}

/** Causes recognised in the runtimes' fetch errors (Deno words them, Bun and Node give a code). */
const CAUSES: [RegExp, string][] = [
  [/ECONNREFUSED|ConnectionRefused|connection refused/i, "ECONNREFUSED"],
  [/ENOTFOUND|failed to lookup address|dns error|name or service not known/i, "ENOTFOUND"],
  [/ECONNRESET|ConnectionReset|connection reset/i, "ECONNRESET"],
  [/ETIMEDOUT|timed out/i, "ETIMEDOUT"],
];

/** The innermost message and a known code of a fetch failure, walking `cause`. */
function describeFetchFailure(error: unknown): { code?: string; detail: string } {
  const messages: string[] = [];
  let code: string | undefined;
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const { message, code: own, cause } = current as { message?: unknown; code?: unknown; cause?: unknown };
    if (typeof message === "string" && message) messages.push(message);
    if (typeof own === "string" && own) code ??= own;
    current = cause;
  }
  const detail = messages.at(-1) ?? String(error);
  code ??= CAUSES.find(([pattern]) => messages.some((message) => pattern.test(message)))?.[1];
  return { ...(code ? { code } : {}), detail };
}

/** What `GET /healthz` returns. */
export interface AdminHealth {
  /** Always true: the process serves. */
  ok: boolean;
  /** The node's id. */
  nodeId: string;
  /** Whether the detection loop runs. */
  running: boolean;
}

/** What `GET /status` returns. */
export interface AdminStatus {
  /** The node's id. */
  nodeId: string;
  /** The mode served now. */
  mode: Mode;
  /** `v1` or `v3`. */
  variant: "v1" | "v3";
  /** When the mode last changed (clock ms), or null. */
  since: number | null;
  /** Why it last changed, or null. */
  reason: string | null;
  /** False while an operator holds the mode. */
  automatic: boolean;
  /** The operator's hold (with `untilMs` when it ends by itself), or null. */
  forced: HybridStats["forced"];
  /** Whether detection runs. */
  running: boolean;
  /** Whether the flapping alarm is raised. */
  flapping: boolean;
  /** The node's clock now (ms), to turn `forced.untilMs` into a countdown. */
  nowMs: number;
  /** Time until automatic switching is allowed again (0 when it is). */
  cooldownRemainingMs: number;
  /** The last round's merged sample. */
  lastSample: HybridStats["lastSample"];
  /** The medians decisions use. */
  summary: HybridStats["summary"];
  /** Modes that cannot be served, with why. */
  unavailableModes: HybridStats["unavailableModes"];
  /** The configured thresholds and hysteresis. */
  thresholds: Record<string, number>;
}

/** One detection round, as `GET /samples` lists it. */
export interface RecentSample {
  /** When the round finished (the node's clock, ms). */
  atMs: number;
  /** The round's merged sample (the worst value of each measure across probes). */
  sample: NetworkSample;
  /** The medians over the sample window after the round. */
  summary: NetworkSample;
}

/** What `GET /samples` returns. */
export interface AdminSamples {
  /** The most recent rounds, oldest first (at most the plugin's `recentSamples`). */
  samples: RecentSample[];
}

/**
 * A change in the cluster's mode agreement, as this node saw it (`GET
 * /cluster`): `atMs` is when this node saw it, on its own clock. A
 * `decision` is a new agreed mode; `engine`, the cluster's consensus engine
 * changing; `report` and `force` are proposals: a member's new medians, a
 * member asking for a hold (or, with `mode: null`, releasing it); `step` is
 * how one of this node's own switches' agreement step ended (the `agreement`
 * event).
 */
export type ClusterEvent =
  | ClusterDecisionEvent
  | ClusterEngineEvent
  | ClusterReportEvent
  | ClusterForceEvent
  | ClusterStepEvent;

/** The cluster agreed on a new mode. */
export interface ClusterDecisionEvent {
  /** `decision`. */
  kind: "decision";
  /** When this node saw it (its clock, ms). */
  atMs: number;
  /** The agreed mode. */
  mode: Mode;
  /** The agreed mode before it, as this node saw it (null: the first this node saw). */
  from: Mode | null;
  /** Why, as the agreement gives it (a classification, or a hold's reason: text from a peer). */
  reason: string;
  /** Where in the cluster's log it was decided. */
  index: number;
  /** True when members hold the cluster in it. */
  forced: boolean;
}

/** The cluster's consensus engine changed (a new epoch). */
export interface ClusterEngineEvent {
  /** `engine`. */
  kind: "engine";
  /** When this node saw it (its clock, ms). */
  atMs: number;
  /** The engine now, e.g. `"pbft"`. */
  engine: string;
  /** The epoch now. */
  epoch: number;
  /** The engine before it, as this node saw it (null: the first this node saw). */
  from: string | null;
}

/** A member's new report of its medians. */
export interface ClusterReportEvent {
  /** `report`. */
  kind: "report";
  /** When this node saw it (its clock, ms). */
  atMs: number;
  /** The member. */
  member: string;
  /** When the member measured (its clock, ms). */
  reportedAtMs: number;
  /** Its medians. */
  summary: NetworkSample;
}

/** A member asked for a hold, or released one. */
export interface ClusterForceEvent {
  /** `force`. */
  kind: "force";
  /** When this node saw it (its clock, ms). */
  atMs: number;
  /** The member. */
  member: string;
  /** The mode it asks the cluster to be held in; null: it released its hold. */
  mode: Mode | null;
}

/** How one of this node's switches' agreement step ended (the manager's `agreement` event). */
export interface ClusterStepEvent {
  /** `step`. */
  kind: "step";
  /** When this node saw it end (its clock, ms). */
  atMs: number;
  /** The switch it belongs to. */
  switchId: number;
  /** The mode this node switched to. */
  wanted: Mode;
  /** The cluster's mode when the step ended. */
  clusterMode: Mode;
  /** `agreed`, or `pending` after `agreementTimeoutMs`. */
  status: "agreed" | "pending";
}

/** One of this node's probes that measure each peer, and its last result per peer. */
export interface ClusterProbePeers {
  /** The probe's name. */
  name: string;
  /** Its last measurement of each peer, by peer. */
  peers: Record<string, PeerMeasurement>;
}

/** What `GET /cluster` returns: the cluster as this node knows it. */
export interface AdminCluster {
  /** This node's id. */
  nodeId: string;
  /** This node's clock now (ms), to age the members' reports. */
  nowMs: number;
  /** The cluster's mode agreement, or null on a node without one (alone, or not on consensus-adaptive). */
  agreement: ModeAgreementStats | null;
  /** This node's probes that measure each peer, with their last result per peer. */
  probes: ClusterProbePeers[];
  /** With `linkModes: "per-peer"`: each link's mode and why, by peer. */
  links?: Record<string, LinkStatus>;
  /** The agreement's recent decisions and proposals as this node saw them, oldest first. */
  events: ClusterEvent[];
}

/** What `DELETE /mode` returns. */
export interface AdminResume {
  /** True: automatic detection decides again. */
  automatic: boolean;
  /** The mode served now. */
  mode: Mode;
}

/** The admin API's calls. */
export interface AdminClient {
  /** `GET /healthz`. */
  health(): Promise<AdminHealth>;
  /** `GET /status`. */
  status(): Promise<AdminStatus>;
  /** `GET /stats`. */
  stats(): Promise<HybridStats>;
  /** `GET /history`. */
  history(): Promise<SwitchRecord[]>;
  /** `GET /samples`. */
  samples(): Promise<AdminSamples>;
  /** `GET /cluster`. */
  cluster(): Promise<AdminCluster>;
  /** `GET /flags`. */
  flags(): Promise<FeatureFlagValues>;
  /** `PATCH /flags`. */
  setFlags(patch: FeatureFlagsPatch): Promise<FeatureFlagValues>;
  /**
   * `POST /mode`. A switch the node refuses or rolls back (`409`) resolves
   * with its outcome (`status` `refused` or `failed`) rather than rejecting.
   */
  forceMode(mode: Mode, reason: string, holdMs?: number): Promise<SwitchOutcome>;
  /** `DELETE /mode`. */
  resume(): Promise<AdminResume>;
  /** `POST /detect`. */
  detect(): Promise<DetectionReport>;
  /** `GET /metrics`, as text. */
  metrics(): Promise<string>;
}

/**
 * Creates a client for the admin API at `baseUrl`, which may carry a path
 * prefix (`http://proxy/switchyard` calls `http://proxy/switchyard/status`).
 * Error answers reject with {@linkcode AdminApiError}; an endpoint that
 * cannot be reached rejects with {@linkcode AdminConnectionError}. Throws a
 * `SwitchyardError` (`INVALID_ARGUMENT`) for a `baseUrl` that is not an
 * http(s) URL.
 *
 * @example
 * ```ts ignore
 * const admin = adminClient("http://127.0.0.1:7070", Deno.env.get("SWITCHYARD_TOKEN"));
 * await admin.forceMode("internet", "maintenance");
 * console.log((await admin.status()).mode);
 * ```
 */
export function adminClient(baseUrl: string, token?: string): AdminClient {
  const base = adminBaseUrl(baseUrl);
  const urlOf = (path: string) => base + path;

  async function send(method: string, path: string, body?: unknown): Promise<Response> {
    const url = urlOf(path);
    try {
      return await fetch(url, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const { code, detail } = describeFetchFailure(error);
      throw new AdminConnectionError(url, code, detail, { cause: error });
    }
  }

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await send(method, path, body);
    const text = await response.text();
    let data: { status?: unknown; error?: { code?: string; message?: string; issues?: unknown } } | undefined;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      throw new AdminApiError(response.status, "NOT_JSON", `${urlOf(path)} answered ${text.slice(0, 200)}`);
    }
    if (!response.ok && !(response.status === 409 && typeof data?.status === "string")) {
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
    health: () => call<AdminHealth>("GET", "/healthz"),
    status: () => call<AdminStatus>("GET", "/status"),
    stats: () => call<HybridStats>("GET", "/stats"),
    history: () => call<SwitchRecord[]>("GET", "/history"),
    samples: () => call<AdminSamples>("GET", "/samples"),
    cluster: () => call<AdminCluster>("GET", "/cluster"),
    flags: () => call<FeatureFlagValues>("GET", "/flags"),
    setFlags: (patch: FeatureFlagsPatch) => call<FeatureFlagValues>("PATCH", "/flags", patch),
    forceMode: (mode: Mode, reason: string, holdMs?: number) =>
      call<SwitchOutcome>("POST", "/mode", { mode, reason, ...(holdMs === undefined ? {} : { holdMs }) }),
    resume: () => call<AdminResume>("DELETE", "/mode"),
    detect: () => call<DetectionReport>("POST", "/detect"),
    metrics: async () => {
      const response = await send("GET", "/metrics");
      const text = await response.text();
      if (!response.ok) {
        let error: { code?: string; message?: string } | undefined;
        try {
          error = JSON.parse(text)?.error;
        } catch { /* not JSON: the text itself is the message */ }
        throw new AdminApiError(response.status, error?.code ?? "HTTP", error?.message ?? text);
      }
      return text;
    },
  };
}

/**
 * `baseUrl` without a trailing slash, query or fragment, so that a route's
 * path appends to its own path; throws `INVALID_ARGUMENT` unless it is an
 * http(s) URL.
 */
export function adminBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new SwitchyardError("INVALID_ARGUMENT", `admin URL ${JSON.stringify(baseUrl)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SwitchyardError("INVALID_ARGUMENT", `admin URL ${baseUrl} must start with http:// or https://`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}
