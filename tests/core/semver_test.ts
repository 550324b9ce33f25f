import assert from "node:assert/strict";
import { isValidRange, isVersion, satisfies } from "../../core/util/semver.ts";

Deno.test("isVersion accepts full versions only", () => {
  for (const version of ["1.2.3", "1.2.3-rc.1+build", "v0.1.0", "10.20.30-alpha.beta"]) {
    assert.equal(isVersion(version), true, version);
  }
  for (const text of ["1.2", "one", "", "1.2.3.4", "^1.2.3"]) assert.equal(isVersion(text), false, text);
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
    // Hyphen ranges: what npm understands and the hand-written parser this replaced did not.
    ["2.0.0", "1.2.3 - 2.3.4", true],
    ["2.3.5", "1.2.3 - 2.3.4", false],
    ["2.3.9", "1.2.3 - 2.3", true],
  ];
  for (const [version, range, expected] of cases) {
    assert.equal(satisfies(version, range), expected, `${version} in ${range}`);
  }
  assert.equal(isValidRange("^1.0.0"), true);
  assert.equal(isValidRange("1.2.3 - 2.3.4"), true);
  assert.equal(isValidRange("banana"), false);
  assert.equal(isValidRange(""), false);
  assert.equal(satisfies("1.0.0", "banana"), false);
});
