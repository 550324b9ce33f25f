// Drives the dashboard in Debian's headless chromium: it loads, shows the
// mode, its charts fill from /events, and "Force internet" (with the token the
// page asks for) switches the node. A screenshot lands in tests/e2e/artifacts/.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { HybridManager, silentLogger } from "../../mod.ts";
import { instantiate } from "../../testing.ts";
import admin, { type AdminHttp } from "../../plugins/admin-http/mod.ts";
import { replayProbe } from "../../plugins/probe-replay/mod.ts";
import { SystemClock } from "../../core/clock.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "e2e-token-0123456789abcdef";

Deno.test({
  name: existsSync(CHROMIUM)
    ? "e2e: the dashboard shows the mode and live charts, and forces internet"
    : `e2e: dashboard (skipped: ${CHROMIUM} is missing; .ci/run installs Debian's chromium)`,
  ignore: !existsSync(CHROMIUM),
  async fn() {
    const { chromium } = await import("playwright-core");
    const clock = new SystemClock();
    const manager = new HybridManager({
      clock,
      logger: silentLogger,
      nodeId: "e2e-node",
      config: { detectionIntervalMs: 100, probeTimeoutMs: 100, sampleWindow: 3, cooldownMs: 500 },
      probes: [replayProbe(clock, {
        name: "replay",
        loop: true,
        jitterRatio: 0.05,
        seed: 3,
        steps: [{ durationMs: 60_000, rttMs: 0.5, bandwidthMbps: 20_000, lossRatio: 0 }],
      })],
    });
    manager.registerComponent("compression", { name: "lz4" }, { name: "zstd" });
    await manager.start();
    const server = await instantiate<AdminHttp>(admin, { port: 0, token: TOKEN, heartbeatMs: 1_000 }, {
      manager,
      clock,
    });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("dialog", (dialog) => dialog.accept(TOKEN));
      await page.goto(server.url + "/");
      await page.waitForSelector('#mode[data-mode="datacenter"]', { timeout: 10_000 });
      await page.waitForFunction(
        'Number(document.querySelector("#chart-rtt")?.getAttribute("data-points")) >= 5',
        null,
        {
          timeout: 10_000,
        },
      );
      assert.ok(Number(await page.getAttribute("#chart-bandwidth", "data-points")) >= 5, "bandwidth chart has data");
      assert.ok(await page.locator("#chart-rtt polyline").count() === 1, "the RTT line is drawn");
      assert.ok(await page.locator("#chart-rtt rect").count() >= 2, "threshold and hysteresis bands are drawn");
      await page.click("#force-internet");
      await page.waitForSelector('#mode[data-mode="internet"]', { timeout: 10_000 });
      assert.equal(manager.currentMode, "internet");
      assert.equal(manager.getStats().forced?.reason, "forced from the dashboard");
      await page.waitForFunction(
        'document.querySelector("#history")?.textContent?.includes("forced from the dashboard")',
      );
      await mkdir(new URL("./artifacts/", import.meta.url), { recursive: true });
      await page.screenshot({ path: new URL("./artifacts/dashboard.png", import.meta.url).pathname, fullPage: true });
    } finally {
      await browser.close();
      await server.close();
      await manager.stop();
    }
  },
});
