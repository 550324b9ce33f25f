/**
 * The part of semantic versioning plugin compatibility needs: parse
 * `MAJOR.MINOR.PATCH[-pre]`, and test a version against ranges such as
 * `^1.2.0`, `~0.3`, `>=1.0.0 <2.0.0`, `1.x`, `*` and `a || b`.
 *
 * @module
 */

/** A parsed version. */
export interface SemVer {
  /** Major. */
  major: number;
  /** Minor. */
  minor: number;
  /** Patch. */
  patch: number;
  /** Pre-release identifiers, e.g. `["rc", "1"]`. */
  prerelease: string[];
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$/;

/** Parses a full version, or returns undefined when `text` is not one. */
export function parseVersion(text: string): SemVer | undefined {
  const match = VERSION.exec(text.trim());
  if (!match) return undefined;
  return {
    major: Number(match[1]),
    minor: Number(match[2]),
    patch: Number(match[3]),
    prerelease: match[4] ? match[4].split(".") : [],
  };
}

/** Orders two versions: negative, zero or positive. Pre-releases sort before their release. */
export function compareVersions(a: SemVer, b: SemVer): number {
  for (const key of ["major", "minor", "patch"] as const) {
    if (a[key] !== b[key]) return a[key] - b[key];
  }
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return (b.prerelease.length === 0 ? 0 : 1) - (a.prerelease.length === 0 ? 0 : 1);
  }
  for (let i = 0; i < Math.max(a.prerelease.length, b.prerelease.length); i++) {
    const x = a.prerelease[i];
    const y = b.prerelease[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xNumeric = /^\d+$/.test(x);
    const yNumeric = /^\d+$/.test(y);
    if (xNumeric && yNumeric) return Number(x) - Number(y);
    if (xNumeric !== yNumeric) return xNumeric ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

type Comparator = { op: "<" | "<=" | ">" | ">=" | "="; version: SemVer };

const version = (major: number, minor: number, patch: number, prerelease: string[] = []): SemVer => ({
  major,
  minor,
  patch,
  prerelease,
});

function expand(token: string): Comparator[] | undefined {
  const opMatch = /^(<=|>=|<|>|=|\^|~)?\s*(.*)$/.exec(token);
  if (!opMatch) return undefined;
  const op = opMatch[1] ?? "";
  const partial = PARTIAL.exec(opMatch[2]);
  if (!partial) return undefined;
  const wild = (part: string | undefined) => part === undefined || /^[xX*]$/.test(part);
  const [maj, min, pat] = [partial[1], partial[2], partial[3]];
  const pre = partial[4] ? partial[4].split(".") : [];
  if (wild(maj)) return op === "<" || op === ">" ? [{ op: "<", version: version(0, 0, 0) }] : [];
  const M = Number(maj);
  const m = wild(min) ? 0 : Number(min);
  const p = wild(pat) ? 0 : Number(pat);
  const base = version(M, m, p, pre);
  const precision = wild(min) ? "major" : wild(pat) ? "minor" : "patch";
  const upper = precision === "major" ? version(M + 1, 0, 0) : precision === "minor" ? version(M, m + 1, 0) : undefined;
  switch (op) {
    case "^": {
      const ceiling = M > 0 || precision === "major"
        ? version(M + 1, 0, 0)
        : m > 0 || precision === "minor"
        ? version(0, m + 1, 0)
        : version(0, 0, p + 1);
      return [{ op: ">=", version: base }, { op: "<", version: ceiling }];
    }
    case "~": {
      const ceiling = precision === "major" ? version(M + 1, 0, 0) : version(M, m + 1, 0);
      return [{ op: ">=", version: base }, { op: "<", version: ceiling }];
    }
    case "":
    case "=":
      return upper ? [{ op: ">=", version: base }, { op: "<", version: upper }] : [{ op: "=", version: base }];
    case ">":
      return upper ? [{ op: ">=", version: upper }] : [{ op: ">", version: base }];
    case "<=":
      return upper ? [{ op: "<", version: upper }] : [{ op: "<=", version: base }];
    default:
      return [{ op: op as Comparator["op"], version: base }];
  }
}

function test(comparator: Comparator, candidate: SemVer): boolean {
  const order = compareVersions(candidate, comparator.version);
  switch (comparator.op) {
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
    default:
      return order === 0;
  }
}

/** Parses a range into alternatives of comparator sets, or undefined when it is not a valid range. */
function parseRange(range: string): Comparator[][] | undefined {
  const alternatives: Comparator[][] = [];
  for (const alternative of range.split("||")) {
    const tokens = alternative.trim().replace(/(<=|>=|<|>|=|\^|~)\s+/g, "$1").split(/\s+/).filter(Boolean);
    const set: Comparator[] = [];
    for (const token of tokens.length > 0 ? tokens : ["*"]) {
      const comparators = expand(token);
      if (!comparators) return undefined;
      set.push(...comparators);
    }
    alternatives.push(set);
  }
  return alternatives;
}

/** True when `range` is a range this module understands. */
export function isValidRange(range: string): boolean {
  return typeof range === "string" && range.trim() !== "" && parseRange(range) !== undefined;
}

/**
 * Whether `candidate` satisfies `range`. A pre-release only satisfies a range
 * that names a pre-release of the same major.minor.patch.
 *
 * @example
 * ```ts
 * import { satisfies } from "./semver.ts";
 * satisfies("1.4.2", "^1.2.0"); // true
 * satisfies("2.0.0", ">=1.0.0 <2.0.0"); // false
 * ```
 */
export function satisfies(candidate: string, range: string): boolean {
  const parsed = parseVersion(candidate);
  const alternatives = parseRange(range);
  if (!parsed || !alternatives) return false;
  return alternatives.some((set) => {
    if (!set.every((comparator) => test(comparator, parsed))) return false;
    if (parsed.prerelease.length === 0) return true;
    return set.some((comparator) =>
      comparator.version.prerelease.length > 0 &&
      comparator.version.major === parsed.major &&
      comparator.version.minor === parsed.minor &&
      comparator.version.patch === parsed.patch
    );
  });
}
