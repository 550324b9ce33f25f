/**
 * Checks made before routing: the URL's length (`414`) and the `Host` header
 * (`421`), which stops DNS rebinding: a page on `evil.example` whose name
 * is made to resolve to 127.0.0.1 reaches a loopback-bound endpoint with
 * `Host: evil.example:7070`, and is refused.
 *
 * @module
 */

const LOOPBACK_NAME = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/;

/** True when `hostname` (as bound) is a loopback address or `localhost`. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK_NAME.test(hostname) || hostname === "::1";
}

/** Splits a `Host` header value into a lower-case name and its port, if any; undefined when malformed. */
function splitHost(value: string): { name: string; port?: number } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!match) return undefined;
  const name = match[1].toLowerCase().replace(/\.$/, "");
  return match[2] === undefined ? { name } : { name, port: Number(match[2]) };
}

/** Where the endpoint listens and which `Host` values it answers. */
export interface HostPolicy {
  /** The bound address. */
  hostname: string;
  /** The bound port, once known (a `Host` port must match it). */
  port(): number | undefined;
  /** Further accepted names, each `name` (any port) or `name:port`. */
  allowedHosts: readonly string[];
}

/**
 * A check of `Host` header values: bound to loopback, only loopback names
 * (`localhost`, `127.x.x.x`, `[::1]`, with the bound port or none) and the
 * `allowedHosts` pass; bound elsewhere, only the `allowedHosts` pass when
 * any are set, else every value does (a token is required there anyway).
 * Returns undefined when nothing is checked.
 */
export function hostChecker(policy: HostPolicy): ((host: string | null) => boolean) | undefined {
  const extra = policy.allowedHosts.map(splitHost).filter((entry) => entry !== undefined);
  const loopback = isLoopback(policy.hostname);
  if (!loopback && extra.length === 0) return undefined;
  return (host) => {
    if (host === null) return false;
    const presented = splitHost(host);
    if (!presented) return false;
    if (extra.some((entry) => entry.name === presented.name && (entry.port ?? presented.port) === presented.port)) {
      return true;
    }
    if (!loopback || !LOOPBACK_NAME.test(presented.name)) return false;
    const bound = policy.port();
    return presented.port === undefined || bound === undefined || presented.port === bound;
  };
}

/** `text` cut to `max` characters with an ellipsis, for echoing request parts in messages. */
export function truncate(text: string, max = 100): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}
