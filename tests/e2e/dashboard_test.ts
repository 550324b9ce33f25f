// Drives the dashboard in Debian's headless chromium. A node on a manual
// clock has already run 105 detection rounds over four link changes (so it
// switched five times, from its initial hybrid too, is flapping and is in its cooldown) before the page
// opens. The page first gets 401 and shows its token field; the token typed
// there loads everything without a reload: charts backfilled from
// /samples (no new samples arrive: the clock stands still), axes, legend,
// switch markers, the flapping alarm, the cooldown and hold countdowns; and
// "Force datacenter" switches the node. No CSP violation, no page error.
// A screenshot lands in tests/e2e/artifacts/.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { HybridManager, ManualClock, silentLogger } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import admin from "../../plugins/admin-http/mod.ts";
import { LINKS, ScriptedProbe } from "../support/scripted_probe.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "e2e-token-0123456789abcdef";
const ROUNDS: [keyof typeof LINKS, number][] = [
  ["datacenter", 25],
  ["internet", 25],
  ["hybrid", 25],
  ["datacenter", 25],
  ["internet", 5],
];

/** Polls `check` (through Playwright's locators: the page's CSP forbids evaluating strings) until it holds. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test({
  name: existsSync(CHROMIUM)
    ? "e2e: the dashboard asks for a token, then shows backfilled charts, switches, the alarm and countdowns"
    : `e2e: dashboard (skipped: ${CHROMIUM} is missing; .ci/run installs Debian's chromium)`,
  ignore: !existsSync(CHROMIUM),
  async fn() {
    const { chromium } = await import("playwright-core");
    const clock = new ManualClock(Date.now() - 110_000);
    const probe = new ScriptedProbe("link", LINKS.datacenter);
    const manager = new HybridManager({
      clock,
      logger: silentLogger,
      nodeId: "e2e-node",
      config: { detectionIntervalMs: 1_000, sampleWindow: 1, cooldownMs: 20_000 },
      probes: [probe],
    });
    manager.registerComponent("compression", { name: "lz4" }, { name: "zstd" });
    const server = await instantiate(admin, { port: 0, token: TOKEN, heartbeatMs: 1_000 }, {
      host: manager,
      clock,
    });
    await manager.start();
    for (const [link, rounds] of ROUNDS) {
      probe.next = { ...LINKS[link] };
      for (let i = 0; i < rounds; i++) await clock.advance(1_000);
    }
    const stats = manager.getStats();
    assert.equal(stats.modeChanges, 5, "the node switched at every link change (from its initial hybrid, too)");
    assert.equal(stats.flapping, true, "five mode changes within the flapping window");
    assert.ok(stats.cooldownRemainingMs > 0, "the last switch's cooldown runs");
    const roundsBefore = probe.calls;

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
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const problems: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      const value = (selector: string, attribute: string) =>
        page.getAttribute(selector, attribute).then((text) => Number(text));

      // No token yet: the page asks for one in its own field, not a prompt, and keeps running.
      await page.goto(server.url + "/");
      await page.waitForSelector("#auth:not([hidden])", { timeout: 10_000 });
      assert.equal(await page.textContent("#connection"), "token needed");
      await page.evaluate("window.loadedOnce = true");
      await page.fill("#token", TOKEN);
      await page.click("#token-submit");
      await page.waitForSelector("#auth", { state: "hidden", timeout: 10_000 });
      await until(async () => (await page.textContent("#connection")) === "live", "the stream to be live");
      assert.equal(await page.evaluate("window.loadedOnce"), true, "the token worked without a reload");

      // Backfilled: all 105 rounds are drawn although no sample arrived since the page opened.
      await page.waitForSelector('#mode[data-mode="internet"]', { timeout: 10_000 });
      await until(async () => (await value("#chart-rtt", "data-points")) >= 100, "the RTT chart to be backfilled");
      assert.ok(await value("#chart-bandwidth", "data-points") >= 100, "bandwidth chart backfilled");
      assert.ok(await value("#chart-loss", "data-points") >= 100, "loss chart backfilled");
      assert.equal(probe.calls, roundsBefore, "the clock stood still: no round since the page opened");
      assert.equal(await page.locator("#chart-rtt polyline").count(), 1, "the RTT line is drawn");
      assert.ok(await page.locator("#chart-rtt rect.band").count() >= 2, "threshold and hysteresis bands");
      assert.ok(await page.locator("#chart-rtt text.xtick").count() >= 2, "a time axis with labels");
      assert.match((await page.locator("#chart-rtt text.xtick").first().textContent()) ?? "", /^\d{1,2}:\d{2}:\d{2}$/);
      assert.ok(await page.locator("#chart-rtt text.ytick").count() >= 2, "a value axis with labels");
      assert.match((await page.locator("#chart-bandwidth text.ytick").allTextContents()).join(" "), /Mbps|Gbps/);
      assert.equal(await value("#chart-rtt", "data-markers"), 5, "a marker at each of the five switches");
      assert.equal(await value("#timeline", "data-markers"), 5, "the timeline marks them too");
      assert.ok(await page.locator("#timeline rect.segment").count() >= 5, "one segment per stretch in a mode");
      assert.ok(await page.locator(".legend").count() === 3, "a legend per chart");
      assert.match((await page.textContent(".legend")) ?? "", /median RTT.*datacenter threshold.*switch/s);

      // The flapping alarm, and the cooldown counting down.
      await page.waitForSelector("#alarm:not([hidden])", { timeout: 10_000 });
      assert.match((await page.textContent("#alarm")) ?? "", /^Flapping/);
      await page.waitForSelector("#cooldown:not([hidden])", { timeout: 10_000 });
      assert.match((await page.textContent("#cooldown")) ?? "", /^cooldown \d+ s$/);

      // A hold with an end shows its countdown, live over the event stream.
      await manager.forceMode("hybrid", "e2e hold", { holdMs: 90_000 });
      await until(async () => ((await page.textContent("#hold")) ?? "").includes("left"), "the hold countdown");
      assert.match((await page.textContent("#hold")) ?? "", /forced hybrid \(e2e hold\), \d+ s left/);
      const remaining = await value("#hold", "data-remaining-ms");
      assert.ok(remaining > 0 && remaining <= 90_000, `hold remaining ${remaining} ms`);

      // The buttons work with the token typed in.
      await page.click("#force-datacenter");
      await page.waitForSelector('#mode[data-mode="datacenter"]', { timeout: 10_000 });
      assert.equal(manager.currentMode, "datacenter");
      assert.equal(manager.getStats().forced?.reason, "forced from the dashboard");
      await until(
        async () => ((await page.textContent("#history")) ?? "").includes("forced from the dashboard"),
        "the history to show the dashboard's switch",
      );
      await until(async () => (await value("#timeline", "data-markers")) === 7, "markers for the two new switches");
      assert.deepEqual(problems, [], "no CSP violation or page error");
      await mkdir(new URL("./artifacts/", import.meta.url), { recursive: true });
      await page.screenshot({ path: new URL("./artifacts/dashboard.png", import.meta.url).pathname, fullPage: true });
    } finally {
      await browser.close();
      await server.close();
      await manager.stop();
    }
  },
});
