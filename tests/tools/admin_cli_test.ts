// The admin CLI as a user runs it, a subprocess of this runtime (Deno under
// deno test, Bun under bun test): --help, bad usage (exit 2, one line naming
// the option, no stack), a refused switch (exit 1), an unreachable node (the
// URL and the cause), and a --url with a path prefix behind a proxy.
import assert from "node:assert/strict";
import net from "node:net";
import { serve } from "../../plugins/admin-http/serve.ts";
import { adminNode, TOKEN } from "../support/admin_node.ts";
import { runProgram } from "../support/run_program.ts";

const admin = (args: string[]) => runProgram("runtime/cli/main.ts", args);

/** Bad usage: exit 2, the message on its first stderr line, no stack trace. */
function assertUsageError(result: { code: number | null; stdout: string; stderr: string }, pattern: RegExp) {
  assert.equal(result.code, 2, result.stderr);
  const [first, hint] = result.stderr.trim().split("\n");
  assert.match(first, pattern);
  assert.match(hint, /--help/);
  assert.doesNotMatch(result.stderr, /TypeError|\n\s+at /, "no stack trace");
}

Deno.test("admin CLI: --help prints the usage and exits 0", async () => {
  const result = await admin(["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^usage: /);
  assert.match(result.stdout, /set-flag <name> <value>/);
  assert.match(result.stdout, /exit codes: 0 done; 1 .*2 bad usage/s);
  assert.equal((await admin(["-h"])).code, 0);
});

Deno.test("admin CLI: an unknown option, a bad value or a bad command exits 2 with one line naming it", async () => {
  assertUsageError(await admin(["status", "--frobnicate"]), /--frobnicate/);
  assertUsageError(await admin(["force", "internet", "--hold-ms", "-5"]), /--hold-ms/);
  assertUsageError(await admin(["force", "internet", "--hold-ms=-5"]), /--hold-ms must be .* greater than 0, got "-5"/);
  assertUsageError(await admin(["force", "internet", "--hold-ms=soon"]), /--hold-ms/);
  assertUsageError(await admin(["force", "moon"]), /mode must be one of datacenter, internet, hybrid, got "moon"/);
  assertUsageError(
    await admin(["set-flag", "v3RolloutPercentage", ""]),
    /v3RolloutPercentage: must be a number, got ""/,
  );
  assertUsageError(await admin(["set-flag", "v3RolloutPercentage", "150"]), /v3RolloutPercentage: .*150/);
  assertUsageError(await admin(["set-flag", "enableHybridMode", "yes"]), /must be true or false/);
  assertUsageError(await admin(["set-flag", "noSuchFlag", "1"]), /unknown flag "noSuchFlag"/);
  assertUsageError(await admin(["frobnicate"]), /unknown command "frobnicate"/);
  assertUsageError(await admin([]), /no command/);
  assertUsageError(await admin(["status", "--url", "not a url"]), /--url/);
});

Deno.test("admin CLI: force exits 1 when the node refuses the switch, 0 when it switches", async () => {
  const node = await adminNode({}, {}, { unavailableModes: { hybrid: "its plugin failed" } });
  try {
    const refused = await admin(["force", "hybrid", "--url", node.url, "--token", TOKEN]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(JSON.parse(refused.stdout).status, "refused");
    assert.match(refused.stderr, /refused the switch to hybrid/);
    const forced = await admin([
      "force",
      "internet",
      "--hold-ms",
      "60000",
      "--reason",
      "cli test",
      "--url",
      node.url,
      "--token",
      TOKEN,
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(node.manager.currentMode, "internet");
    assert.equal(node.manager.getStats().forced?.reason, "cli test");
    const flags = await admin(["set-flag", "v3RolloutPercentage", "30", "--url", node.url, "--token", TOKEN]);
    assert.equal(flags.code, 0, flags.stderr);
    assert.equal(node.manager.flags.values.v3RolloutPercentage, 30);
    const denied = await admin(["status", "--url", node.url, "--token", "wrong-token-0123456789"]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /401 UNAUTHORIZED/);
  } finally {
    await node.close();
  }
});

Deno.test("admin CLI: with the node down it names the URL and the cause", async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const result = await admin(["status", "--url", `http://127.0.0.1:${port}`]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/status: .*ECONNREFUSED`));
  assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
});

Deno.test("admin CLI: a --url with a path prefix is honoured (behind a proxy)", async () => {
  const node = await adminNode();
  const seen: string[] = [];
  // A reverse proxy serving the endpoint under /switchyard.
  const proxy = await serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url);
      seen.push(url.pathname);
      if (!url.pathname.startsWith("/switchyard/")) return new Response("not here", { status: 404 });
      const body = request.method === "GET" ? undefined : await request.arrayBuffer();
      const headers = new Headers(request.headers);
      headers.delete("host"); // the upstream's own Host, as a proxy sends it
      const upstream = await fetch(node.url + url.pathname.slice("/switchyard".length), {
        method: request.method,
        headers,
        body,
      });
      return new Response(await upstream.arrayBuffer(), { status: upstream.status, headers: upstream.headers });
    },
  });
  try {
    const result = await admin(["status", "--url", `http://127.0.0.1:${proxy.port}/switchyard/`, "--token", TOKEN]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).nodeId, "admin-test");
    assert.deepEqual(seen, ["/switchyard/status"]);
  } finally {
    await proxy.close();
    await node.close();
  }
});
