import assert from "node:assert/strict";
import { compareVersions, isValidRange, parseVersion, satisfies } from "../../core/util/semver.ts";

Deno.test("parseVersion and compareVersions follow semver precedence", () => {
  assert.deepEqual(parseVersion("1.2.3-rc.1+build"), { major: 1, minor: 2, patch: 3, prerelease: ["rc", "1"] });
  assert.equal(parseVersion("1.2"), undefined);
  assert.equal(parseVersion("one"), undefined);
  const ordered = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
  ];
  for (let i = 1; i < ordered.length; i++) {
    assert.ok(
      compareVersions(parseVersion(ordered[i - 1])!, parseVersion(ordered[i])!) < 0,
      `${ordered[i - 1]} < ${ordered[i]}`,
    );
  }
});

Deno.test("satisfies understands caret, tilde, comparators, x-ranges and alternatives", () => {
  const cases: [string, string, boolean][] = [
    ["1.4.2", "^1.2.0", true],
    ["2.0.0", "^1.2.0", false],
    ["0.2.5", "^0.2.1", true],
    ["0.3.0", "^0.2.1", false],
    ["0.0.3", "^0.0.3", true],
    ["0.0.4", "^0.0.3", false],
    ["0.1.9", "^0.1", true],
    ["1.2.9", "~1.2.3", true],
    ["1.3.0", "~1.2.3", false],
    ["1.9.0", "~1", true],
    ["1.5.0", ">=1.0.0 <2.0.0", true],
    ["2.0.0", ">=1.0.0 <2.0.0", false],
    ["1.7.3", "1.x", true],
    ["2.0.0", "1.x", false],
    ["1.2.3", "1.2.3", true],
    ["1.2.4", "=1.2.3", false],
    ["9.9.9", "*", true],
    ["3.1.0", "^1.0.0 || ^3.0.0", true],
    ["2.1.0", "^1.0.0 || ^3.0.0", false],
    ["1.3.0", ">1.2", true],
    ["1.2.9", ">1.2", false],
    ["1.2.9", "<=1.2", true],
    ["1.0.0-rc.1", "^1.0.0", false],
    ["1.0.0-rc.2", ">=1.0.0-rc.1 <2", true],
    ["1.0.0", ">= 0.1.0", true],
  ];
  for (const [version, range, expected] of cases) {
    assert.equal(satisfies(version, range), expected, `${version} in ${range}`);
  }
  assert.equal(isValidRange("^1.0.0"), true);
  assert.equal(isValidRange("banana"), false);
  assert.equal(isValidRange(""), false);
  assert.equal(satisfies("1.0.0", "banana"), false);
});
