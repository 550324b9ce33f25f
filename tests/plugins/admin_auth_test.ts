import assert from "node:assert/strict";
import { bearerToken, tokenChecker } from "../../plugins/admin-http/auth.ts";

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
