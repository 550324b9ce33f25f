// Every error the library throws carries a stable code: read from the source,
// no module of core/, plugins/, runtime/ or testing/ (tests aside) makes a
// plain Error, TypeError, RangeError (or another built-in error) or declares
// an error class that is not a SwitchyardError. And the code registry itself:
// core codes keep their values, plugins declare their own without editing core.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { defineErrorCodes, ERROR_CODES, SwitchyardError, toError, ValidationError } from "../../core/util/errors.ts";
import { WAL_ERRORS } from "../../plugins/wal-kit/errors.ts";
import { WalCorruptError } from "../../plugins/wal-kit/format.ts";
import { PBFT_ERRORS } from "../../plugins/consensus-pbft/errors.ts";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "..", ".."));
const LIBRARY = ["mod.ts", "core", "plugins", "runtime", "testing"];

function sourceFiles(path: string): string[] {
  const absolute = join(ROOT, path);
  if (statSync(absolute).isFile()) return path.endsWith(".ts") && !path.endsWith("_test.ts") ? [path] : [];
  return readdirSync(absolute).flatMap((name) => sourceFiles(join(path, name)));
}

/**
 * The code a reader of errors cares about: comments out, and the contents of
 * `String.raw` templates out (the admin dashboard's page script is one: it
 * runs in the browser, where there is no SwitchyardError).
 */
export function codeOf(source: string): string {
  return source
    .replace(/String\.raw`[^`]*`/g, "String.raw``")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

const PLAIN_ERROR = /\bnew\s+(Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError)\s*\(/g;
const PLAIN_SUBCLASS = /\bclass\s+\w+\s+extends\s+(Error|TypeError|RangeError)\b/g;

/** Every plain error made, or plain error class declared, in `source`. */
export function plainErrors(source: string): string[] {
  const code = codeOf(source);
  return [...code.matchAll(PLAIN_ERROR), ...code.matchAll(PLAIN_SUBCLASS)].map((match) => match[0]);
}

Deno.test("coded errors: the scan sees plain errors and plain error classes, not comments or the page script", () => {
  const source = [
    `throw new Error("a");`,
    `reject(new TypeError("b"));`,
    `throw new RangeError ("c");`,
    `class Oops extends Error {}`,
    `// throw new Error("in a comment");`,
    `/** new Error("in a doc comment") */`,
    "const PAGE = String.raw`throw new Error(data.message); class NeedToken extends Error {}`;",
    `throw new SwitchyardError("INVALID_ARGUMENT", "fine");`,
    `class Fine extends SwitchyardError {}`,
  ].join("\n");
  assert.deepEqual(plainErrors(source), [
    "new Error(",
    "new TypeError(",
    "new RangeError (",
    "class Oops extends Error",
  ]);
});

Deno.test("coded errors: no library module throws a plain Error, TypeError or RangeError", () => {
  const offending: string[] = [];
  for (const file of LIBRARY.flatMap(sourceFiles)) {
    for (const found of plainErrors(readFileSync(join(ROOT, file), "utf8"))) offending.push(`${file}: ${found}`);
  }
  assert.deepEqual(offending, [], "throw a SwitchyardError (a core code, or one the plugin declares)");
});

Deno.test("coded errors: the core's codes keep their values", () => {
  for (
    const code of [
      "CONFIG_INVALID",
      "INVALID_ARGUMENT",
      "PLUGIN_INVALID",
      "MANIFEST_INVALID",
      "FRAME_INVALID",
      "FRAME_TOO_LARGE",
      "TRANSPORT_CLOSED",
      "TRANSPORT_UNREACHABLE",
      "NOT_LEADER",
      "CONSENSUS_TIMEOUT",
      "STALE_REQUEST",
      "UNKNOWN_CLIENT",
      "RESULT_UNAVAILABLE",
    ] as const
  ) {
    assert.ok(ERROR_CODES.includes(code), code);
  }
  // Codes that belong to a plugin are declared by it, not by the core.
  assert.equal((ERROR_CODES as readonly string[]).includes("STORAGE_CORRUPT"), false);
  assert.equal((ERROR_CODES as readonly string[]).includes("COMMAND_FAILED"), false);
});

Deno.test("coded errors: a plugin declares its own codes and throws them without editing core", () => {
  const corrupt = new WalCorruptError("/tmp/raft.wal", 16, "body", "damaged record at byte 16");
  assert.ok(corrupt instanceof SwitchyardError);
  assert.equal(corrupt.code, "STORAGE_CORRUPT");
  assert.ok(WAL_ERRORS.is(corrupt));
  assert.equal(PBFT_ERRORS.is(corrupt), false);
  const failed = PBFT_ERRORS.error("COMMAND_FAILED", "apply threw");
  assert.ok(failed instanceof SwitchyardError && failed.code === "COMMAND_FAILED" && failed.message === "apply threw");
  assert.deepEqual(PBFT_ERRORS.codes, ["COMMAND_FAILED"]);
  const mine = defineErrorCodes("my-plugin", ["DISK_FULL", "QUOTA_EXCEEDED"]);
  assert.equal(mine.owner, "my-plugin");
  assert.ok(mine.is(mine.error("QUOTA_EXCEEDED", "over quota", { cause: "why" })));
  assert.equal(mine.is(new SwitchyardError("INVALID_ARGUMENT", "no")), false);
  assert.equal(mine.is(new Error("plain")), false);
});

Deno.test("coded errors: a declaration with a malformed, repeated or core code is refused, naming it", () => {
  assert.throws(
    () => defineErrorCodes("bad", ["lower_case", "OK_CODE", "OK_CODE", "NOT_LEADER"]),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError && error.code === "INVALID_ARGUMENT");
      assert.deepEqual(error.issues.map((issue) => issue.path), ["codes.0", "codes.2", "codes.3"]);
      assert.match(error.message, /NOT_LEADER is a core code/);
      return true;
    },
  );
});

Deno.test("coded errors: toError keeps Errors and turns anything else into NON_ERROR_THROWN", () => {
  const original = new SwitchyardError("INVALID_ARGUMENT", "kept");
  assert.equal(toError(original), original);
  const fromString = toError("just a string");
  assert.ok(fromString instanceof SwitchyardError && fromString.code === "NON_ERROR_THROWN");
  assert.equal(fromString.message, "just a string");
  const value = { reason: 42 };
  const fromObject = toError(value);
  assert.equal(fromObject.message, '{"reason":42}');
  assert.equal(fromObject.cause, value);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(toError(cyclic).message, "[object Object]");
  assert.equal(toError(undefined).message, "undefined");
});

Deno.test("coded errors: a code outside the core's does not compile without its declaration", () => {
  // @ts-expect-error: "NOT_A_CODE" is neither a core code nor declared
  const undeclared = new SwitchyardError("NOT_A_CODE", "typo");
  assert.equal(undeclared.code, "NOT_A_CODE"); // at run time the class does not police codes; the types do
  // @ts-expect-error: a plugin's codes object only makes its own codes
  PBFT_ERRORS.error("STORAGE_CORRUPT", "not PBFT's");
});
