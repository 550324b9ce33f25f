// What admin-http refuses before a handler runs, and the headers of the
// dashboard page: media types (415), URL length (414), long unknown paths
// (404, truncated), the Host check (421), CSP and framing.
import assert from "node:assert/strict";
import { adminNode, TOKEN } from "../support/admin_node.ts";
import { rawRequest } from "../support/raw_http.ts";

const auth = { authorization: `Bearer ${TOKEN}` };

Deno.test("admin: a JSON route refuses a body that is not sent as JSON with 415, and nothing changes", async () => {
  const node = await adminNode();
  const flagsBefore = node.manager.flags.values;
  try {
    const body = JSON.stringify({ mode: "internet", reason: "not JSON by its type" });
    for (const contentType of ["text/plain", undefined, "application/x-www-form-urlencoded"]) {
      const response = await fetch(`${node.url}/mode`, {
        method: "POST",
        // A string body gets text/plain from fetch unless told otherwise: a Blob without a type sends none.
        body: contentType === undefined ? new Blob([body]) : body,
        headers: { ...auth, ...(contentType ? { "content-type": contentType } : {}) },
      });
      assert.equal(response.status, 415, `content-type ${contentType}`);
      const { error } = await response.json();
      assert.equal(error.code, "UNSUPPORTED_MEDIA_TYPE");
      assert.match(error.message, /application\/json/);
    }
    const flags = await fetch(`${node.url}/flags`, {
      method: "PATCH",
      body: JSON.stringify({ v3RolloutPercentage: 50 }),
      headers: { ...auth, "content-type": "text/plain" },
    });
    assert.equal(flags.status, 415);
    await flags.body?.cancel();
    assert.equal(node.manager.currentMode, "datacenter", "the mode did not change");
    assert.deepEqual(node.manager.flags.values, flagsBefore, "the flags did not change");
    const json = await fetch(`${node.url}/mode`, {
      method: "POST",
      body,
      headers: { ...auth, "content-type": "Application/JSON; charset=utf-8" },
    });
    assert.equal(json.status, 200, "JSON with parameters, in any case, is accepted");
    assert.equal(node.manager.currentMode, "internet");
  } finally {
    await node.close();
  }
});

Deno.test("admin: a URL over maxUrlBytes gets 414 JSON; a long unknown path is not echoed in full", async () => {
  const node = await adminNode({ maxUrlBytes: 4096 });
  try {
    const long = await fetch(`${node.url}/status?pad=${"x".repeat(5_000)}`, { headers: auth });
    assert.equal(long.status, 414);
    const { error } = await long.json();
    assert.equal(error.code, "URI_TOO_LONG");
    assert.match(error.message, /at most 4096/);
    const missing = await fetch(`${node.url}/${"n".repeat(3_000)}`, { headers: auth });
    assert.equal(missing.status, 404);
    const text = await missing.text();
    assert.ok(text.length < 400, `the 404 answer holds ${text.length} characters`);
    assert.match(JSON.parse(text).error.message, /^no route GET \/n+… \(3001 characters\)$/);
  } finally {
    await node.close();
  }
});

Deno.test("admin: bound to loopback, only loopback Host names with the bound port are answered (421 JSON otherwise)", async () => {
  const node = await adminNode({ openReads: true });
  const port = node.server.port;
  const get = (host: string | undefined) =>
    rawRequest(
      port,
      `GET /status HTTP/1.1\r\n${host === undefined ? "" : `Host: ${host}\r\n`}Connection: close\r\n\r\n`,
    );
  try {
    for (
      const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, "localhost", `127.0.0.2:${port}`]
    ) {
      assert.equal((await get(host)).status, 200, host);
    }
    for (
      const host of [
        `evil.example:${port}`,
        "evil.example",
        `127.0.0.1:${port + 1}`,
        `localhost.evil.example:${port}`,
        "a b",
      ]
    ) {
      const response = await get(host);
      assert.equal(response.status, 421, host);
      assert.match(response.headers["content-type"], /application\/json/);
      assert.equal(JSON.parse(response.body).error.code, "HOST_NOT_ALLOWED", host);
    }
    // The dashboard and the health check too: a rebinding page must not even load.
    const page = await rawRequest(port, `GET / HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`);
    assert.equal(page.status, 421);
    const health = await rawRequest(
      port,
      `GET /healthz HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(health.status, 421);
  } finally {
    await node.close();
  }
});

Deno.test("admin: allowedHosts adds names (with or without a port); bound beyond loopback it is the only list", async () => {
  const node = await adminNode({ openReads: true, allowedHosts: ["switchyard.internal", "proxy.internal:8443"] });
  const port = node.server.port;
  const status = async (host: string) =>
    (await rawRequest(port, `GET /status HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status;
  try {
    assert.equal(await status("switchyard.internal"), 200);
    assert.equal(await status("switchyard.internal:9999"), 200, "an entry without a port matches any port");
    assert.equal(await status("proxy.internal:8443"), 200);
    assert.equal(await status("proxy.internal:8444"), 421);
    assert.equal(await status(`127.0.0.1:${port}`), 200, "loopback names still pass when bound to loopback");
  } finally {
    await node.close();
  }
  const wide = await adminNode({ hostname: "0.0.0.0", allowedHosts: ["switchyard.internal"] });
  try {
    const request = (host: string) =>
      rawRequest(wide.server.port, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.equal((await request("switchyard.internal")).status, 200);
    assert.equal((await request(`127.0.0.1:${wide.server.port}`)).status, 421, "only the listed names");
  } finally {
    await wide.close();
  }
  const open = await adminNode({ hostname: "0.0.0.0" });
  try {
    const any = await rawRequest(
      open.server.port,
      "GET /healthz HTTP/1.1\r\nHost: anything.example\r\nConnection: close\r\n\r\n",
    );
    assert.equal(any.status, 200, "beyond loopback without allowedHosts nothing is checked (the token guards it)");
  } finally {
    await open.close();
  }
});

Deno.test("admin: the dashboard is served with a strict CSP and may not be framed", async () => {
  const node = await adminNode();
  try {
    const response = await fetch(`${node.url}/`);
    assert.equal(response.status, 200);
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(response.headers.get("x-frame-options"), "DENY");
    const html = await response.text();
    assert.doesNotMatch(html, /\son[a-z]+=/i, "no inline event handlers (the CSP would block them)");
    assert.doesNotMatch(html, /\sstyle="/i, "no style attributes (the CSP would block them)");
    assert.equal((html.match(/<script>/g) ?? []).length, 1, "one inline script, the hashed one");
  } finally {
    await node.close();
  }
});
