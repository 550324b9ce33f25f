// Drives the dashboard in Debian's headless chromium. A node on a manual
// clock has already run 105 detection rounds over four link changes (so it
// switched five times, from its initial hybrid too, is flapping and is in its cooldown) before the page
// opens. The page first gets 401 and shows its token field; the token typed
// there loads everything without a reload: charts backfilled from
// /samples (no new samples arrive: the clock stands still), axes, legend,
// switch markers, the flapping alarm, the cooldown and hold countdowns; and
// "Force datacenter" switches the node. No CSP violation, no page error.
// Alone, without a cluster agreement, its Cluster panel says so.
//
// A second test opens the dashboard of a node of a real adaptive cluster
// (four managers, consensus-adaptive, probe-rtt per peer): the Cluster panel
// lists every member with its reported RTT, bandwidth, loss, report age and
// hold, the probe's peers, and the timeline marks the agreement's decisions
// and proposals; a hold's reason full of HTML comes out as text, live.
// Screenshots land in tests/e2e/artifacts/.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { HybridManager, ManualClock, silentLogger } from "../../mod.ts";
import { instantiate } from "../../testing/mod.ts";
import admin from "../../plugins/admin-http/mod.ts";
import { LINKS, ScriptedProbe } from "../support/scripted_probe.ts";
import { startAdaptiveManagers, until as untilNode } from "../support/adaptive_managers.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "e2e-token-0123456789abcdef";
const ROUNDS: [keyof typeof LINKS, number][] = [
  ["datacenter", 25],
  ["internet", 25],
  ["hybrid", 25],
  ["datacenter", 25],
  ["internet", 5],
];

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
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

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
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
      assert.ok(await page.locator(".legend:not(#legend-timeline)").count() === 3, "a legend per chart");
      assert.match((await page.textContent(".legend")) ?? "", /median RTT.*datacenter threshold.*switch/s);

      // Alone, without an agreement: the Cluster panel says so instead of showing empty tables; no cluster lanes.
      await page.waitForSelector("#cluster-none:not([hidden])", { timeout: 10_000 });
      assert.match((await page.textContent("#cluster-none")) ?? "", /^No cluster agreement on this node/);
      assert.equal(await page.isHidden("#cluster-agreement"), true, "no members table");
      assert.match((await page.textContent("#peers-none")) ?? "", /^No per-peer results/);
      assert.equal(await page.isHidden("#peers"), true, "no peers table");
      assert.equal(await page.isHidden("#cluster-recent"), true, "no agreement events");
      assert.equal(await page.isHidden("#legend-timeline"), true, "no cluster lanes on the timeline");
      assert.equal(await value("#timeline", "data-decisions"), 0);

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

const REASON = `<img src=x onerror="window.pwned = 1"> & <b>"rack switch"</b>`;

Deno.test({
  name: existsSync(CHROMIUM)
    ? "e2e: the dashboard's Cluster panel on a node of a real adaptive cluster: members, peers, decisions, proposals, escaped"
    : `e2e: dashboard cluster panel (skipped: ${CHROMIUM} is missing; .ci/run installs Debian's chromium)`,
  ignore: !existsSync(CHROMIUM),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { chromium } = await import("playwright-core");
    const cluster = await startAdaptiveManagers({ network: "e2e-dashboard", token: TOKEN, rackMs: 1_500 });
    const { managers, engines } = cluster;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      // The link turns to a WAN, every member reports it, the cluster moves to internet and PBFT; then two members
      // (f + 1) hold it there with a reason full of HTML.
      await untilNode(
        () =>
          managers.every((m) => m.getStats().agreement?.engine === "pbft" && m.currentMode === "internet") &&
          Object.values(managers[0].getStats().agreement!.reports).filter((r) => r.summary.rttMs === 120).length === 4,
        "every member on PBFT, in internet, with the WAN reported by all",
      );
      await Promise.all([engines[0].force("internet", REASON), engines[1].force("internet", REASON)]);
      await untilNode(() => managers[0].getStats().agreement?.agreed.forced === true, "the hold to be agreed");

      const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
      const problems: string[] = [];
      page.on("console", (message) => {
        if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
      const value = (selector: string, attribute: string) =>
        page.getAttribute(selector, attribute).then((text) => Number(text));
      const rows = (selector: string) => page.locator(selector + " tr").allTextContents();

      await page.goto(cluster.admin.url + "/");
      await page.waitForSelector("#auth:not([hidden])", { timeout: 10_000 });
      await page.fill("#token", TOKEN);
      await page.click("#token-submit");
      await until(async () => (await page.textContent("#connection")) === "live", "the stream to be live");

      // The agreement as n1 knows it: one row per member, with the agreed mode, engine and epoch, each member's
      // latest report and its age, and the holds.
      await page.waitForSelector("#cluster-agreement:not([hidden])", { timeout: 10_000 });
      assert.equal(await page.isHidden("#cluster-none"), true);
      await until(async () => (await value("#members", "data-rows")) === 4, "a row per member");
      const members = await rows("#members");
      assert.match(members[0], /^member\s*mode\s*engine\s*epoch\s*RTT\s*bandwidth\s*loss\s*report age\s*hold$/);
      assert.match(members[1], /^n1 \(this node\)internet \(held\)pbft\d+120 ms40 Mbps2 %\d+ sinternet$/);
      assert.match(members[2], /^n2internet \(held\)pbft\d+120 ms40 Mbps2 %\d+ sinternet$/);
      assert.match(members[3], /^n3internet \(held\)pbft\d+120 ms40 Mbps2 %\d+ s$/);
      assert.match(members[4], /^n4/);
      const agreed = (await page.textContent("#agreed")) ?? "";
      assert.ok(agreed.startsWith(`Agreed internet (held by members): forced: ${REASON} \u00b7 engine pbft`), agreed);

      // n1's probe-rtt, per peer.
      await until(async () => (await value("#peers", "data-rows")) === 3, "a row per peer");
      const peers = await rows("#peers");
      assert.equal(peers[0], "peerRTTbandwidthlosserrorprobes");
      for (const [i, id] of ["n2", "n3", "n4"].entries()) {
        assert.match(peers[i + 1], new RegExp(`^e2e-dashboard-probe-${id}[\\d.]+ ms\\d+ %rtt$`), peers[i + 1]);
      }

      // The timeline: the cluster's agreed mode and its decisions (the move to internet, the hold), the engine
      // change, and the proposals: every member's reports, the two forces, n1's agreement steps.
      await page.waitForSelector("#legend-timeline:not([hidden])", { timeout: 10_000 });
      assert.ok(await value("#timeline", "data-decisions") >= 2, "the decision for internet and the hold");
      assert.ok(await value("#timeline", "data-engines") >= 1, "raft to pbft");
      assert.ok(await page.locator("#timeline circle[data-kind=report]").count() >= 4, "reports");
      assert.equal(await page.locator("#timeline polygon[data-kind=force]").count(), 2, "the two forces");
      assert.ok(await page.locator("#timeline polygon[data-kind=step]").count() >= 1, "n1's agreement steps");
      assert.ok(await page.locator("#timeline rect.cluster-segment.internet").count() >= 1, "the cluster lane");
      const titles = await page.locator("#timeline line.agreement-decision title").allTextContents();
      assert.ok(
        titles.some((t) => t.endsWith(`internet \u2192 internet (held): forced: ${REASON}`)),
        titles.join("\n"),
      );

      // The reason is text everywhere: no element was made of it, nothing ran.
      const events = await rows("#cluster-events");
      assert.ok(
        events.some((row) => row.includes(`agreed internet \u2192 internet, held: forced: ${REASON}`)),
        events.join("\n"),
      );
      assert.equal(await page.locator("img").count(), 0, "no <img> from the reason");
      assert.equal(await page.locator("main b").count(), 0, "no <b> from the reason");
      assert.equal(await page.evaluate("window.pwned"), undefined);

      // Live: the members release their holds; the page shows it from the event stream, without a reload.
      await Promise.all([engines[0].force(null, "done"), engines[1].force(null, "done")]);
      await until(
        async () => (await rows("#cluster-events")).filter((row) => row.includes("releases its hold")).length === 2,
        "the releases in the agreement's events",
      );
      await until(async () => !((await rows("#members"))[1] ?? "").endsWith("internet"), "n1's hold gone");
      assert.deepEqual(problems, [], "no CSP violation or page error");
      await mkdir(new URL("./artifacts/", import.meta.url), { recursive: true });
      await page.screenshot({
        path: new URL("./artifacts/dashboard-cluster.png", import.meta.url).pathname,
        fullPage: true,
      });
    } finally {
      await browser.close();
      await cluster.close();
    }
  },
});
