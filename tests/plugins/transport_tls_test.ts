// transport-tcp with TLS: a self-signed certificate made by openssl for this run,
// the transport suite over it, and a dialer that does not trust it is refused.
import { loopbackCompliance } from "../support/connected_pair.ts";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SystemClock, type TransportConnection } from "../../mod.ts";
import { instantiate, runCompliance } from "../../testing/mod.ts";
import transportTcp, { loadTls, runtimeSockets, tcpTransport } from "../../plugins/transport-tcp/mod.ts";

/** A throwaway CA and a server certificate it signs for 127.0.0.1 and localhost. */
function makeCertificate(): { certFile: string; keyFile: string; caFile: string } | undefined {
  try {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-tls-"));
    const path = (name: string) => join(dir, name);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      path("ca.key"),
      "-out",
      path("ca.pem"),
      "-days",
      "1",
      "-subj",
      "/CN=switchyard test CA",
    );
    openssl("req", ...ec, "-keyout", path("key.pem"), "-out", path("server.csr"), "-subj", "/CN=localhost");
    writeFileSync(
      path("server.ext"),
      "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      path("server.csr"),
      "-CA",
      path("ca.pem"),
      "-CAkey",
      path("ca.key"),
      "-CAcreateserial",
      "-out",
      path("cert.pem"),
      "-days",
      "1",
      "-extfile",
      path("server.ext"),
    );
    return { certFile: path("cert.pem"), keyFile: path("key.pem"), caFile: path("ca.pem") };
  } catch {
    return undefined;
  }
}

const files = makeCertificate();
const MAX_FRAME = 2 * 1024 * 1024;
const limits = {
  maxFrameBytes: MAX_FRAME,
  highWaterBytes: 4 * 1024 * 1024,
  dialAttempts: 1,
  initialBackoffMs: 0,
  maxBackoffMs: 0,
};

if (!files) {
  Deno.test({ name: "transport-tcp with TLS (skipped: openssl is not installed)", ignore: true, fn() {} });
} else {
  const tls = await loadTls({ ...files, serverName: "localhost" });
  const transport = tcpTransport(await runtimeSockets(), limits, new SystemClock(), undefined, tls);
  runCompliance("transport-tcp (TLS)", loopbackCompliance(transport, MAX_FRAME));

  Deno.test("transport-tcp (TLS): a dialer that does not trust the certificate is refused; the plugin loads PEM files", async () => {
    const listener = await transport.listen("127.0.0.1:0");
    const untrusting = tcpTransport(await runtimeSockets(), limits, new SystemClock(), undefined, {
      serverName: "localhost",
    });
    const rejected = untrusting.dial(listener.address).then((c) =>
      c.frames()[Symbol.asyncIterator]().next().then(() => c)
    );
    await assert.rejects(rejected);
    await listener.close();
    const plugin = await instantiate(transportTcp, {
      tls: { ...files, serverName: "localhost" },
    });
    assert.equal(plugin.stats().tls, true);
    const pluginListener = await plugin.listen("127.0.0.1:0");
    const accepted = pluginListener.connections()[Symbol.asyncIterator]().next();
    const client = await plugin.dial(pluginListener.address);
    const server = (await accepted).value as TransportConnection;
    await client.send(new Uint8Array([4, 2]));
    assert.deepEqual((await server.frames()[Symbol.asyncIterator]().next()).value, new Uint8Array([4, 2]));
    await client.close();
    await server.close();
    await pluginListener.close();
  });
}
