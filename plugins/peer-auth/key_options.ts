/**
 * The plugin options that configure peer authentication, shared by the
 * consensus plugins: where the cluster secret comes from (inline, a file or
 * an environment variable; exactly one), the explicit opt-out, and the clock
 * skew allowed. {@linkcode loadClusterKey} reads the secret at start.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { env } from "node:process";
import * as v from "valibot";
import { ValidationError } from "../../core/util/errors.ts";
import { DEFAULT_MAX_CLOCK_SKEW_MS } from "./authenticator.ts";
import { decodeClusterKey } from "./keys.ts";

const keyText = v.pipe(
  v.string(),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const decoded = decodeClusterKey(dataset.value);
    if (typeof decoded === "string") addIssue({ message: decoded });
  }),
);

/** The option entries; spread them into a plugin's `v.strictObject`, then pipe it through {@linkcode clusterKeyChoice}. */
export const clusterKeyOptionEntries = {
  /** The cluster secret, hex or base64, at least 32 bytes. Prefer `clusterKeyFile` or `clusterKeyEnv` in manifests. */
  clusterKey: v.optional(keyText),
  /** A file holding the cluster secret (hex or base64; surrounding whitespace ignored). */
  clusterKeyFile: v.optional(v.pipe(v.string(), v.minLength(1))),
  /** An environment variable holding the cluster secret. */
  clusterKeyEnv: v.optional(
    v.pipe(v.string(), v.regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name")),
  ),
  /** Send and accept peer messages unauthenticated: anyone who reaches the port can forge them. Off by default. */
  insecureNoAuth: v.optional(v.boolean(), false),
  /** Largest difference between the nodes' wall clocks, in ms; see the peer-auth guarantees. */
  maxClockSkewMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), DEFAULT_MAX_CLOCK_SKEW_MS),
} as const;

/** The key options, as parsed. */
export interface ClusterKeyOptions {
  /** Inline secret. */
  clusterKey?: string;
  /** File with the secret. */
  clusterKeyFile?: string;
  /** Environment variable with the secret. */
  clusterKeyEnv?: string;
  /** The explicit opt-out. */
  insecureNoAuth: boolean;
}

/** Why a set of key options is contradictory or incomplete, or undefined when it is fine. */
export function clusterKeyChoiceProblem(options: Partial<ClusterKeyOptions>): string | undefined {
  const sources = (["clusterKey", "clusterKeyFile", "clusterKeyEnv"] as const).filter((name) => options[name]);
  if (options.insecureNoAuth) {
    return sources.length > 0 ? `insecureNoAuth cannot be combined with ${sources.join(", ")}` : undefined;
  }
  if (sources.length === 0) {
    return "peer messages must be authenticated: set one of clusterKey, clusterKeyFile, clusterKeyEnv " +
      "(or, knowingly, insecureNoAuth: true)";
  }
  if (sources.length > 1) return `set only one of ${sources.join(", ")}`;
  return undefined;
}

/**
 * A pipe action for a plugin's options object: exactly one key source unless
 * `insecureNoAuth`; the issue is reported at `clusterKey`.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { clusterKeyChoice, clusterKeyOptionEntries } from "./key_options.ts";
 * const options = v.pipe(v.strictObject({ nodeId: v.string(), ...clusterKeyOptionEntries }), clusterKeyChoice());
 * ```
 */
export function clusterKeyChoice<Options extends Partial<ClusterKeyOptions>>(): v.RawCheckAction<Options> {
  return v.rawCheck<Options>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = clusterKeyChoiceProblem(dataset.value);
    if (!problem) return;
    addIssue({
      message: problem,
      path: [{
        type: "object",
        origin: "value",
        input: dataset.value as Record<string, unknown>,
        key: "clusterKey",
        value: dataset.value.clusterKey,
      }],
    });
  });
}

/**
 * Reads the cluster secret the options name, or returns undefined for
 * `insecureNoAuth`. Throws a `ValidationError` (`PLUGIN_INVALID`) naming the
 * option (`<prefix>.clusterKeyFile`, ...; no prefix when it is empty) when the source is missing,
 * unreadable or holds no usable key.
 */
export async function loadClusterKey(options: ClusterKeyOptions, prefix = "options"): Promise<Uint8Array | undefined> {
  const problem = clusterKeyChoiceProblem(options);
  const fail = (field: string, message: string): never => {
    const path = prefix ? `${prefix}.${field}` : field;
    throw new ValidationError("PLUGIN_INVALID", "peer authentication", [{ path, message }]);
  };
  if (problem) fail("clusterKey", problem);
  if (options.insecureNoAuth) return undefined;
  let text: string | undefined;
  let field: string;
  if (options.clusterKey) {
    field = "clusterKey";
    text = options.clusterKey;
  } else if (options.clusterKeyFile) {
    field = "clusterKeyFile";
    text = await readFile(options.clusterKeyFile, "utf8").catch((error) =>
      fail("clusterKeyFile", `cannot read ${options.clusterKeyFile}: ${error}`)
    );
  } else {
    field = "clusterKeyEnv";
    try {
      text = env[options.clusterKeyEnv!];
    } catch (error) {
      fail("clusterKeyEnv", `cannot read $${options.clusterKeyEnv}: ${error}`);
    }
    if (!text) fail("clusterKeyEnv", `environment variable ${options.clusterKeyEnv} is not set`);
  }
  const decoded = decodeClusterKey(text!);
  if (typeof decoded === "string") fail(field, decoded);
  return decoded as Uint8Array;
}
