/**
 * The `npm:` module specifiers a manifest may name: a valid npm package name
 * (npm's rules: optional `@scope/`, lowercase, URL-safe, not starting with
 * `.` or `_`, at most 214 characters), an optional version range or tag, and
 * an optional subpath without `.` or `..` segments. Nothing else: no
 * absolute or relative paths, no `file:` or other URLs, no `git:` ranges,
 * which runtimes that turn `npm:x` into a bare specifier (Bun, Node) would
 * otherwise load from disk unchecked.
 *
 * @module
 */
import { ValidationError } from "../util/errors.ts";

const NAME_PART = "[a-z0-9-][a-z0-9._-]*";
const NAME = `(?:@${NAME_PART}/)?${NAME_PART}`;
/** A semver range or dist-tag: no `:` or `/`, so no `file:`, `git+…:` or URL. */
const RANGE = "[0-9A-Za-z.^~<>=*|+-]+";
/** A subpath segment other than `.` and `..`. */
const SEGMENT = "(?!\\.\\.?(?:/|$))[A-Za-z0-9._~+@-]+";

/** The pattern of a valid `npm:` specifier (the package name's length is checked apart). */
export const NPM_SPECIFIER_PATTERN: string = `npm:${NAME}(?:@${RANGE})?(?:/${SEGMENT})*`;

const SPECIFIER = new RegExp(`^npm:(${NAME})(?:@(${RANGE}))?((?:/${SEGMENT})*)$`);
/** npm's limit on a package name, scope included. */
export const NPM_NAME_MAX_LENGTH = 214;

/** A parsed `npm:` specifier. */
export interface NpmSpecifier {
  /** The package name, e.g. `@scope/pkg`. */
  name: string;
  /** The version range or tag after `@`, if any. */
  range?: string;
  /** The subpath after the name, e.g. `/sub/path.js`, or `""`. */
  subpath: string;
}

/** Why `specifier` is not a valid `npm:` specifier, or undefined when it is. */
export function npmSpecifierProblem(specifier: string): string | undefined {
  const match = SPECIFIER.exec(specifier);
  if (!match) {
    return `${JSON.stringify(specifier)} is not "npm:<package>[@<range>][/<subpath>]" with a valid npm package name ` +
      "(lowercase, URL-safe, not starting with . or _); paths, file: and other URLs are not npm packages";
  }
  if (match[1].length > NPM_NAME_MAX_LENGTH) {
    return `the package name is ${match[1].length} characters long, npm allows ${NPM_NAME_MAX_LENGTH}`;
  }
  return undefined;
}

/**
 * Parses an `npm:` specifier; throws a {@linkcode ValidationError}
 * (`PLUGIN_INVALID`) naming `field` when it is not a valid one.
 *
 * @example
 * ```ts
 * import { parseNpmSpecifier } from "./npm_specifier.ts";
 * parseNpmSpecifier("npm:@scope/pkg@^2/sub.js", "module"); // { name: "@scope/pkg", range: "^2", subpath: "/sub.js" }
 * ```
 */
export function parseNpmSpecifier(specifier: string, field: string): NpmSpecifier {
  const problem = npmSpecifierProblem(specifier);
  if (problem) throw new ValidationError("PLUGIN_INVALID", "npm specifier", [{ path: field, message: problem }]);
  const [, name, range, subpath] = SPECIFIER.exec(specifier)!;
  return range === undefined ? { name, subpath } : { name, range, subpath };
}
