import assert from "node:assert/strict";
import { env } from "node:process";
import { HybridManager, ManualClock, silentLogger, ValidationError } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import admin from "../../plugins/admin-http/mod.ts";
import { bearerToken, tokenChecker, tokenProblem } from "../../plugins/admin-http/auth.ts";

Deno.test("tokenChecker accepts exactly the expected token", () => {
  const matches = tokenChecker("0123456789abcdef");
  assert.equal(matches("0123456789abcdef"), true);
  assert.equal(matches("0123456789abcdeF"), false);
  assert.equal(matches("0123456789abcde"), false, "a prefix");
  assert.equal(matches("0123456789abcdef0"), false, "an extension");
  assert.equal(matches(""), false);
  assert.equal(tokenChecker("é-token-0123456789")("é-token-0123456789"), true);
});

Deno.test("bearerToken reads the Authorization header", () => {
  assert.equal(bearerToken("Bearer abc"), "abc");
  assert.equal(bearerToken("bearer   abc  "), "abc");
  assert.equal(bearerToken("Basic abc"), undefined);
  assert.equal(bearerToken(undefined), undefined);
  assert.equal(bearerToken("Bearer a b"), undefined);
});

Deno.test("tokenProblem: too short or holding whitespace", () => {
  assert.equal(tokenProblem("0123456789abcdef"), undefined);
  assert.match(tokenProblem("abc") ?? "", /at least 16 characters, got 3/);
  assert.match(tokenProblem(" ".repeat(20)) ?? "", /whitespace/);
  assert.match(tokenProblem("0123456789 abcdef") ?? "", /whitespace/);
});

/** Instantiates admin-http with `options`, the token in $SWITCHYARD_TEST_TOKEN set to `value`. */
async function withEnvToken(value: string, options: Record<string, unknown>) {
  const manager = new HybridManager({ logger: silentLogger, clock: new ManualClock() });
  env.SWITCHYARD_TEST_TOKEN = value;
  try {
    return await instantiate(admin, { port: 0, tokenEnv: "SWITCHYARD_TEST_TOKEN", ...options }, {
      host: manager,
    });
  } finally {
    delete env.SWITCHYARD_TEST_TOKEN;
  }
}

const namesTokenEnv = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof ValidationError, String(error));
  assert.equal(error.code, "PLUGIN_INVALID");
  assert.equal(error.issues[0].path, "tokenEnv");
  assert.match(error.issues[0].message, pattern);
  return true;
};

Deno.test("admin-http: a token from tokenEnv meets the same rules as token", async () => {
  await assert.rejects(withEnvToken("abc", {}), namesTokenEnv(/SWITCHYARD_TEST_TOKEN must be at least 16 characters/));
  await assert.rejects(withEnvToken("abc", { hostname: "0.0.0.0" }), namesTokenEnv(/at least 16/));
  await assert.rejects(withEnvToken(" ".repeat(24), {}), namesTokenEnv(/whitespace/));
  const good = await withEnvToken("env-token-0123456789", {});
  try {
    const response = await fetch(`${good.url}/status`, { headers: { authorization: "Bearer env-token-0123456789" } });
    assert.equal(response.status, 200, "the token from the environment logs in");
  } finally {
    await good.close();
  }
});

Deno.test("admin-http: a token option holding whitespace is refused with its field", async () => {
  const manager = new HybridManager({ logger: silentLogger, clock: new ManualClock() });
  await assert.rejects(
    instantiate(admin, { port: 0, token: "                    " }, { host: manager }),
    /token.*whitespace/s,
  );
});
