/**
 * Bearer-token checks in constant time: the loop always runs over the whole
 * expected token and accumulates differences without an early exit, so the
 * time taken does not depend on how much of a presented token is right.
 *
 * @module
 */

/**
 * A checker for `expected`: true when a presented token equals it, compared
 * in time that depends only on the expected token's length.
 *
 * @example
 * ```ts
 * import { tokenChecker } from "./auth.ts";
 * const matches = tokenChecker("0123456789abcdef");
 * matches("0123456789abcdef"); // true
 * ```
 */
export function tokenChecker(expected: string): (presented: string) => boolean {
  return (presented) => {
    let difference = presented.length ^ expected.length;
    for (let i = 0; i < expected.length; i++) difference |= expected.charCodeAt(i) ^ (presented.charCodeAt(i) | 0);
    return difference === 0;
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header || header.length < 8 || header.slice(0, 7).toLowerCase() !== "bearer ") return undefined;
  const token = header.slice(7).trim();
  return token === "" || /\s/.test(token) ? undefined : token;
}

/** The shortest token accepted. */
export const MIN_TOKEN_LENGTH = 16;

/**
 * Why `token` cannot serve as the bearer token, or undefined when it can:
 * shorter than {@linkcode MIN_TOKEN_LENGTH}, or holding whitespace (a header
 * `Bearer <token>` cannot carry it, so nobody could ever log in).
 */
export function tokenProblem(token: string): string | undefined {
  if (/\s/.test(token)) return "must not contain whitespace (an Authorization header cannot carry it)";
  if (token.length < MIN_TOKEN_LENGTH) {
    return `must be at least ${MIN_TOKEN_LENGTH} characters, got ${token.length}`;
  }
  return undefined;
}
