/**
 * What plugin compatibility needs of semantic versioning, from npm's
 * `semver` (the package npm itself uses): whether a string is a version,
 * whether it is a range, and whether a version satisfies a range such as
 * `^1.2.0`, `~0.3`, `>=1.0.0 <2.0.0`, `1.x`, `*` or `a || b`.
 *
 * @module
 */
// @ts-types="@types/semver"
import { satisfies as semverSatisfies, valid, validRange } from "semver";

/** True when `text` is a full version, `MAJOR.MINOR.PATCH[-pre][+build]` (a leading `v` allowed). */
export function isVersion(text: string): boolean {
  return typeof text === "string" && valid(text) !== null;
}

/** True when `range` is a non-empty semver range. */
export function isValidRange(range: string): boolean {
  return typeof range === "string" && range.trim() !== "" && validRange(range) !== null;
}

/**
 * Whether `candidate` satisfies `range`, as npm decides it: a pre-release
 * only satisfies a range that names a pre-release of the same
 * major.minor.patch; an invalid version or range satisfies nothing.
 *
 * @example
 * ```ts
 * import { satisfies } from "./semver.ts";
 * satisfies("1.4.2", "^1.2.0"); // true
 * satisfies("2.0.0", ">=1.0.0 <2.0.0"); // false
 * ```
 */
export function satisfies(candidate: string, range: string): boolean {
  return semverSatisfies(candidate, range);
}
