/**
 * The key-value store's HTTP API, as a fetch handler over any consensus
 * replica (the node process serves it; tests call it in process).
 *
 * - `PUT /kv/:key` (body: the value) and `POST /kv/:key` (body: text to
 *   append) → `{ index, previous, duplicate? }` once committed;
 *   `GET /kv/:key` → `{ value }` after a linearizable read barrier;
 *   `GET /status` → the consensus stats and counters.
 * - Writes carry the client identity in `x-client-id` (1 to 128 visible
 *   ASCII characters) and `x-client-sequence` (a decimal integer from 1), so
 *   a retry executes at most once; without both, a write is applied as often
 *   as it is sent. A retry of an executed write answers `duplicate: true`
 *   with the original `index` and `previous`.
 * - Bodies over `maxBodyBytes` are refused with 413 (from `content-length`
 *   before reading, or as soon as the stream passes the limit; the body is
 *   never held), answered with `connection: close`: Bun closes the
 *   connection right after the answer, Deno's server reads and discards the
 *   rest of the body first, then closes. A key that is not valid
 *   percent-encoding, a value that is not UTF-8, or a bad identity header is
 *   refused with 400 naming the problem. Both are logged and counted.
 * - Errors: 421 not the leader (`leader`, `leaderUrl`), 503
 *   `PROPOSAL_DROPPED` (not executed) or `CONSENSUS_CLOSED` (maybe executed;
 *   retry with the same identity), 504 unknown outcome (likewise), 409
 *   `STALE_REQUEST` / `UNKNOWN_CLIENT` (not executed), 500 otherwise.
 *
 * @module
 */
import * as v from "valibot";
import type { Consensus, NodeId } from "../../mod.ts";
import { SwitchyardError } from "../../mod.ts";
import { parseOrThrow } from "../../core/util/validation.ts";
import { type Logger, silentLogger } from "../../mod.ts";
import { readBody } from "./body.ts";
import { encodeKvCommand, type KvCommand, type KvStateMachine } from "./state_machine.ts";

/** Header carrying the client id of a write. */
export const CLIENT_ID_HEADER = "x-client-id";
/** Header carrying the sequence number of a write. */
export const CLIENT_SEQUENCE_HEADER = "x-client-sequence";

const options = v.object({
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1)), 1024 * 1024),
});

/** What {@linkcode kvHttpApi} serves. */
export interface KvHttpApiOptions {
  /** Largest request body accepted, in bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** The replica writes are proposed to and reads wait on. */
  consensus: Consensus<string | null>;
  /** The local map it applies to. */
  machine: KvStateMachine;
  /** The client URL of a node, for 421 answers (`null` when unknown). */
  leaderUrl(id: NodeId): string | null;
  /** Extra fields for `GET /status`. */
  status?(): Record<string, unknown>;
  /** Where refusals and failures are logged. */
  logger?: Logger;
}

/** Requests refused or failed, by reason. */
export interface KvHttpCounts {
  /** 413: body over `maxBodyBytes`. */
  tooLarge: number;
  /** 400: bad key, value or identity. */
  badRequest: number;
  /** 500: unexpected failures. */
  internal: number;
}

/** The API: its fetch handler and its counters. */
export interface KvHttpApi {
  /** Serves one request. */
  fetch(request: Request): Promise<Response>;
  /** Refusals and failures so far. */
  readonly counts: KvHttpCounts;
}

const HTTP_STATUS: Record<string, number> = {
  NOT_LEADER: 421,
  PROPOSAL_DROPPED: 503,
  CONSENSUS_CLOSED: 503,
  CONSENSUS_TIMEOUT: 504,
  INVALID_ARGUMENT: 400,
  STALE_REQUEST: 409,
  UNKNOWN_CLIENT: 409,
};

const CLIENT_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const SEQUENCE_PATTERN = /^[1-9][0-9]{0,15}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A request the API refuses as malformed (400). */
class BadRequest extends SwitchyardError {
  constructor(message: string) {
    super("INVALID_ARGUMENT", message);
  }
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

/** The identity headers, validated; `undefined` when neither is sent. */
function identityOf(request: Request): { clientId: string; sequence: number } | undefined {
  const clientId = request.headers.get(CLIENT_ID_HEADER);
  const sequence = request.headers.get(CLIENT_SEQUENCE_HEADER);
  if (clientId === null && sequence === null) return undefined;
  if (clientId === null || !CLIENT_ID_PATTERN.test(clientId)) {
    throw new BadRequest(`${CLIENT_ID_HEADER} must be 1 to 128 visible ASCII characters (sent with the sequence)`);
  }
  if (sequence === null || !SEQUENCE_PATTERN.test(sequence) || !Number.isSafeInteger(Number(sequence))) {
    throw new BadRequest(`${CLIENT_SEQUENCE_HEADER} must be a decimal integer from 1 to 2^53 - 1 (sent with the id)`);
  }
  return { clientId, sequence: Number(sequence) };
}

/**
 * Builds the API; `options.maxBodyBytes` is validated (`INVALID_ARGUMENT`
 * naming the field).
 *
 * @example
 * ```ts ignore
 * const api = kvHttpApi({ consensus: raft, machine, leaderUrl: (id) => urls[id] ?? null });
 * await serve({ hostname: "127.0.0.1", port: 8001, fetch: api.fetch });
 * ```
 */
export function kvHttpApi(input: KvHttpApiOptions): KvHttpApi {
  const { maxBodyBytes } = parseOrThrow(options, { maxBodyBytes: input.maxBodyBytes }, "kv http options");
  const { consensus, machine } = input;
  const logger = input.logger ?? silentLogger;
  const counts: KvHttpCounts = { tooLarge: 0, badRequest: 0, internal: 0 };

  const badRequest = (message: string, fields: Record<string, unknown>) => {
    counts.badRequest++;
    logger.warn("bad request refused", { ...fields, reason: message });
    return json({ error: { code: "INVALID_ARGUMENT", message } }, 400);
  };

  const failure = (error: unknown, request: Request): Response => {
    const code = error instanceof SwitchyardError ? error.code : undefined;
    const status = (code && HTTP_STATUS[code]) ?? 500;
    const hint = error instanceof SwitchyardError ? (error as { leaderHint?: NodeId | null }).leaderHint ?? null : null;
    if (status === 500) {
      counts.internal++;
      logger.error("request failed", { method: request.method, url: request.url, error: String(error) });
    }
    const message = error instanceof Error ? error.message : String(error);
    const leaderUrl = hint ? input.leaderUrl(hint) : null;
    return json({ error: { code: code ?? "INTERNAL", message }, leader: hint, leaderUrl }, status);
  };

  const write = async (request: Request, key: string, op: "put" | "append"): Promise<Response> => {
    const body = await readBody(request, maxBodyBytes);
    if (body === null) {
      counts.tooLarge++;
      logger.warn("request body over the limit refused", { key, maxBodyBytes });
      return json(
        { error: { code: "BODY_TOO_LARGE", message: `the body is over the limit of ${maxBodyBytes} bytes` } },
        413,
        { connection: "close" },
      );
    }
    let identity;
    try {
      identity = identityOf(request);
    } catch (error) {
      return badRequest((error as Error).message, { key });
    }
    let value: string;
    try {
      value = utf8.decode(body);
    } catch {
      return badRequest("the value is not UTF-8", { key });
    }
    const command: KvCommand = { op, key, value };
    const committed = await consensus.propose(encodeKvCommand(command), identity);
    return json({ index: committed.index, previous: committed.result, ...committed.duplicate && { duplicate: true } });
  };

  return {
    counts,
    async fetch(request) {
      const url = new URL(request.url);
      try {
        if (url.pathname === "/status") return json({ ...consensus.stats(), ...input.status?.(), http: counts });
        if (!url.pathname.startsWith("/kv/") || url.pathname.length === 4) {
          return json({ error: { code: "NOT_FOUND", message: "use /kv/:key or /status" } }, 404);
        }
        let key: string;
        try {
          key = decodeURIComponent(url.pathname.slice(4));
        } catch {
          return badRequest("the key is not valid percent-encoding", { path: url.pathname.slice(0, 200) });
        }
        if (request.method === "PUT") return await write(request, key, "put");
        if (request.method === "POST") return await write(request, key, "append");
        if (request.method === "GET") {
          await consensus.read();
          return json({ value: machine.get(key) });
        }
        return json({ error: { code: "METHOD_NOT_ALLOWED", message: "GET, PUT or POST" } }, 405);
      } catch (error) {
        return failure(error, request);
      }
    },
  };
}
