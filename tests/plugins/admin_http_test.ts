import assert from "node:assert/strict";
import { HybridManager, ManualClock, silentLogger, SwitchyardError } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import admin from "../../plugins/admin-http/mod.ts";
import { AdminApiError, adminClient } from "../../plugins/admin-http/client.ts";
import { ROUTES } from "../../plugins/admin-http/openapi.ts";
import { adminNode, TOKEN } from "../support/admin_node.ts";

async function node(options: Record<string, unknown> = {}) {
  return await adminNode(options);
}

const get = (url: string, path: string, token?: string) =>
  fetch(url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const send = (url: string, method: string, path: string, body: string, token = TOKEN) =>
  fetch(url + path, {
    method,
    body,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });

Deno.test("admin: health is open, unknown routes get 404 JSON, errors carry no stack", async () => {
  const { manager, server, url } = await node();
  try {
    assert.deepEqual(await (await get(url, "/healthz")).json(), { ok: true, nodeId: "admin-test", running: true });
    const missing = await get(url, "/nope", TOKEN);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { error: { code: "NOT_FOUND", message: "no route GET /nope" } });
    manager.getStats = () => {
      throw new Error("secret internals at line 42");
    };
    const broken = await get(url, "/stats", TOKEN);
    assert.equal(broken.status, 500);
    const text = await broken.text();
    assert.ok(!text.includes("secret") && !text.includes(" at "), text);
  } finally {
    await server.close();
    await manager.stop();
  }
});

Deno.test("admin: reads and writes need the bearer token; openReads opens reads only", async () => {
  const { manager, server, url } = await node();
  try {
    const anonymous = await get(url, "/status");
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get("www-authenticate") ?? "", /Bearer/);
    assert.equal((await anonymous.json()).error.code, "UNAUTHORIZED");
    assert.equal((await get(url, "/status", "wrong-token-0123456789")).status, 401);
    assert.equal((await get(url, "/status", TOKEN)).status, 200);
    for (const route of ROUTES.filter((r) => r.auth !== "none" && r.path !== "/events")) {
      const response = await fetch(url + route.path, { method: route.method.toUpperCase() });
      assert.equal(response.status, 401, `${route.method} ${route.path} without a token`);
      await response.body?.cancel();
    }
  } finally {
    await server.close();
  }
  const open = await instantiate(admin, { port: 0, token: TOKEN, openReads: true }, { host: manager });
  try {
    assert.equal((await get(open.url, "/flags")).status, 200);
    const write = await fetch(open.url + "/mode", { method: "DELETE" });
    assert.equal(write.status, 401);
  } finally {
    await open.close();
    await manager.stop();
  }
});

Deno.test("admin: bad bodies get 400 with field paths, oversized bodies 413", async () => {
  const { manager, server, url } = await node({ maxBodyBytes: 1024 });
  try {
    const notJson = await send(url, "POST", "/mode", "{nope");
    assert.equal(notJson.status, 400);
    const bad = await send(url, "POST", "/mode", JSON.stringify({ mode: "moon", reason: "", extra: 1 }));
    assert.equal(bad.status, 400);
    const { error } = await bad.json();
    assert.deepEqual(error.issues.map((i: { path: string }) => i.path).sort(), ["extra", "mode", "reason"]);
    const flags = await send(url, "PATCH", "/flags", JSON.stringify({ v3RolloutPercentage: 150 }));
    assert.equal(flags.status, 400);
    assert.equal((await flags.json()).error.issues[0].path, "v3RolloutPercentage");
    const huge = await send(url, "POST", "/mode", JSON.stringify({ mode: "internet", reason: "x".repeat(5_000) }));
    assert.equal(huge.status, 413);
    assert.equal((await huge.json()).error.code, "PAYLOAD_TOO_LARGE");
    assert.equal(manager.currentMode, "datacenter", "nothing changed");
  } finally {
    await server.close();
    await manager.stop();
  }
});

Deno.test("admin: force, resume, flags and detect through the typed client", async () => {
  const { clock, manager, server, url } = await node();
  const client = adminClient(url, TOKEN);
  try {
    const forced = await client.forceMode("internet", "maintenance", 60_000);
    assert.equal(forced.status, "switched");
    const status = await client.status();
    assert.equal(status.mode, "internet");
    assert.equal(status.automatic, false);
    assert.equal(status.forced?.reason, "maintenance");
    assert.equal(status.thresholds.internetLatencyThresholdMs, 50);
    await clock.advance(5_000);
    assert.equal(manager.currentMode, "internet", "held");
    assert.deepEqual(await client.resume(), { automatic: true, mode: "internet" });
    const report = await client.detect();
    assert.equal(report.outcome.status, "switched");
    assert.equal(manager.currentMode, "datacenter");
    assert.equal((await client.setFlags({ v3RolloutPercentage: 40 })).v3RolloutPercentage, 40);
    assert.equal((await client.history()).length, 3);
    assert.deepEqual(Object.keys(await client.stats()).includes("plugins"), true);
    await assert.rejects(
      client.forceMode("moon" as never, "x"),
      (e: unknown) => e instanceof AdminApiError && e.status === 400,
    );
    await assert.rejects(adminClient(url).status(), (e: unknown) => e instanceof AdminApiError && e.status === 401);
  } finally {
    await server.close();
    await manager.stop();
  }
});

Deno.test("admin: /metrics is valid Prometheus text with the mode, switches and measures", async () => {
  const { manager, server, url } = await node();
  try {
    const response = await get(url, "/metrics", TOKEN);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const families = new Map<string, string>();
    for (const line of text.trimEnd().split("\n")) {
      if (line.startsWith("# HELP ")) continue;
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line);
      if (type) {
        families.set(type[1], type[2]);
        continue;
      }
      const sample =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?[0-9.e+-]+|NaN)$/
          .exec(line);
      assert.ok(sample, `not Prometheus text: ${line}`);
      assert.ok(families.has(sample[1]), `sample before its TYPE: ${line}`);
    }
    assert.match(text, /^switchyard_mode\{mode="datacenter"\} 1$/m);
    assert.match(text, /^switchyard_switches_total\{outcome="success"\} 1$/m);
    assert.match(text, /^switchyard_rtt_seconds 0\.0005$/m, "0.5 ms in seconds");
    assert.match(text, /^switchyard_bandwidth_bytes_per_second 1250000000$/m, "10 Gbps in bytes per second");
    assert.match(text, /^switchyard_time_in_mode_seconds_total\{mode="datacenter"\} \d/m);
    assert.match(text, /^switchyard_probe_errors_total\{probe="link"\} 0$/m);
    assert.equal(families.get("switchyard_mode_changes_total"), "counter");
  } finally {
    await server.close();
    await manager.stop();
  }
});

Deno.test("admin: /events delivers a switch as a server-sent event", async () => {
  const { manager, server, url } = await node();
  const controller = new AbortController();
  try {
    const response = await fetch(url + "/events", {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: controller.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    const waitFor = async (event: string) => {
      for (;;) {
        const match = new RegExp(`event: ${event}\\ndata: (.*)\\n`).exec(buffer);
        if (match) return JSON.parse(match[1]);
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended before "${event}"`);
        buffer += decoder.decode(value, { stream: true });
      }
    };
    assert.equal((await waitFor("hello")).nodeId, "admin-test");
    await manager.forceMode("hybrid", "watching events");
    const record = await waitFor("switch");
    assert.deepEqual([record.from, record.to, record.reason], ["datacenter", "hybrid", "watching events"]);
  } finally {
    controller.abort();
    await server.close();
    await manager.stop();
  }
});

Deno.test("admin: the OpenAPI document lists every route, bodies from the valibot schemas", async () => {
  const { manager, server, url } = await node();
  try {
    const document = await (await get(url, "/openapi.json", TOKEN)).json();
    assert.equal(document.openapi, "3.1.0");
    for (const route of ROUTES) assert.ok(document.paths[route.path]?.[route.method], `${route.method} ${route.path}`);
    assert.deepEqual(document.components.schemas.ForceMode.required, ["mode", "reason"]);
    assert.deepEqual(document.components.schemas.ForceMode.properties.mode.enum, ["datacenter", "internet", "hybrid"]);
  } finally {
    await server.close();
    await manager.stop();
  }
});

Deno.test("admin: binding beyond loopback without a token is refused at start", async () => {
  const manager = new HybridManager({ logger: silentLogger, clock: new ManualClock() });
  await assert.rejects(
    instantiate(admin, { hostname: "0.0.0.0", port: 0 }, { host: manager }),
    (error: unknown) => {
      assert.ok(error instanceof SwitchyardError);
      assert.match(error.message, /refusing to bind 0\.0\.0\.0 without a token/);
      return true;
    },
  );
  await assert.rejects(
    instantiate(admin, { tokenEnv: "SWITCHYARD_NO_SUCH_VARIABLE" }, { host: manager }),
    /is not set/,
  );
});
