import assert from "node:assert/strict";
import {
  HybridManager,
  type LinkChange,
  LinkModes,
  ManualClock,
  MAX_LINKS,
  type Probe,
  resolveConfig,
} from "../../mod.ts";

const RACK = { rttMs: 0.3, bandwidthMbps: 10_000, lossRatio: 0 };
const WAN = { rttMs: 80, bandwidthMbps: 200, lossRatio: 0.02 };
const METRO = { rttMs: 20, bandwidthMbps: 5_000, lossRatio: 0 };

Deno.test("link modes: each link is classified on its own measurements, at the same time", () => {
  const links = new LinkModes(resolveConfig({ sampleWindow: 1, cooldownMs: 0 }), "datacenter");
  const changes = links.observe({ "a:1": RACK, "b:1": WAN, "c:1": METRO }, 10);
  assert.deepEqual(changes.map((change) => [change.peer, change.from, change.to]), [
    ["b:1", "datacenter", "internet"],
    ["c:1", "datacenter", "hybrid"],
  ]);
  assert.equal(links.mode("a:1"), "datacenter");
  assert.equal(links.mode("b:1"), "internet");
  assert.equal(links.mode("c:1"), "hybrid");
  assert.equal(links.mode("never-measured:1"), undefined);
  const status = links.status();
  assert.match(status["b:1"].reason, /internet: rttMs 80 > 55/);
  assert.equal(status["b:1"].sinceMs, 10);
  assert.equal(status["b:1"].changes, 1);
  assert.equal(status["a:1"].reason, "initial");
  assert.deepEqual(status["a:1"].summary, RACK);
});

Deno.test("link modes: several probes' results for one peer merge, the worst of each measure", () => {
  const links = new LinkModes(resolveConfig({ sampleWindow: 1, cooldownMs: 0 }), "datacenter");
  // One probe measures the round trip, another the bandwidth: only together do they show the WAN.
  links.observe([{ "b:1": { rttMs: 0.3, lossRatio: 0 } }, { "b:1": { bandwidthMbps: 50 } }], 0);
  assert.equal(links.mode("b:1"), "internet");
  assert.deepEqual(links.status()["b:1"].summary, { rttMs: 0.3, lossRatio: 0, bandwidthMbps: 50 });
});

Deno.test("link modes: the window's median, hysteresis and the cooldown hold per link", () => {
  const links = new LinkModes(resolveConfig({ sampleWindow: 3, cooldownMs: 1_000 }), "datacenter");
  // One bad sample in a window of three is noise: the median stays on the rack.
  links.observe({ "b:1": RACK }, 0);
  links.observe({ "b:1": RACK }, 50);
  links.observe({ "b:1": WAN }, 100);
  links.observe({ "b:1": RACK }, 200);
  assert.equal(links.mode("b:1"), "datacenter");
  // Two of three make the median: the link moves.
  const moved = links.observe({ "b:1": WAN }, 300);
  assert.deepEqual(moved.map((change) => change.to), ["internet"]);
  // Back to the rack at once: the cooldown holds the link, and its status says what it waits for.
  links.observe({ "b:1": RACK }, 400);
  assert.deepEqual(links.observe({ "b:1": RACK }, 500), []);
  assert.equal(links.mode("b:1"), "internet");
  assert.equal(links.status()["b:1"].wanted, "datacenter");
  assert.deepEqual(links.observe({ "b:1": RACK }, 1_300).map((change) => change.to), ["datacenter"]);
  assert.equal(links.status()["b:1"].wanted, undefined);
  // Hysteresis: 10.5 ms keeps a datacenter link (it leaves past 11 ms), so nothing changes.
  const edge = new LinkModes(resolveConfig({ sampleWindow: 1, cooldownMs: 0 }), "datacenter");
  assert.deepEqual(edge.observe({ "e:1": { ...RACK, rttMs: 10.5 } }, 0), []);
});

Deno.test("link modes: a link is tracked from its first measurement, starting from the mode it served (the node's)", () => {
  const links = new LinkModes(resolveConfig({ sampleWindow: 1, cooldownMs: 0 }), "datacenter");
  // Only an error so far: not tracked (the node's mode keeps serving it).
  links.observe({ "b:1": { error: "not reachable" } }, 0, "internet");
  assert.equal(links.mode("b:1"), undefined);
  assert.deepEqual(links.status(), {});
  // First measured while the node serves internet: a WAN reading changes nothing, so no event claims it did.
  assert.deepEqual(links.observe({ "b:1": WAN }, 10, "internet"), []);
  assert.equal(links.mode("b:1"), "internet");
  // A rack reading from internet is a real change, with the right `from`.
  assert.deepEqual(links.observe({ "c:1": RACK }, 20, "internet").map((change) => [change.from, change.to]), [
    ["internet", "datacenter"],
  ]);
});

Deno.test("link modes: a peer that could not be measured keeps its mode and shows why", () => {
  const links = new LinkModes(resolveConfig({ sampleWindow: 1, cooldownMs: 0 }), "datacenter");
  links.observe({ "b:1": WAN }, 0);
  assert.deepEqual(links.observe({ "b:1": { error: "not reachable within 1000 ms" } }, 100), []);
  assert.equal(links.mode("b:1"), "internet");
  assert.equal(links.status()["b:1"].error, "not reachable within 1000 ms");
  links.observe({ "b:1": WAN }, 200);
  assert.equal(links.status()["b:1"].error, undefined);
});

Deno.test("link modes: at most MAX_LINKS links are kept; further peers are counted and ignored", () => {
  const links = new LinkModes(resolveConfig({ sampleWindow: 1 }), "datacenter");
  const many = Object.fromEntries(Array.from({ length: MAX_LINKS + 10 }, (_, i) => [`peer-${i}:1`, RACK]));
  links.observe(many, 0);
  assert.equal(Object.keys(links.status()).length, MAX_LINKS);
  assert.equal(links.dropped, 10);
});

/** A probe of three peers whose conditions a test sets. */
function peersProbe(conditions: Record<string, typeof RACK>): Probe {
  return {
    name: "peers",
    measure: () => {
      const values = Object.values(conditions);
      return Promise.resolve({ rttMs: Math.max(...values.map((value) => value.rttMs)) });
    },
    peers: () => ({ ...conditions }),
  };
}

Deno.test("manager, per-peer: rack links stay datacenter while the WAN link goes internet; events and stats say so", async () => {
  const clock = new ManualClock();
  const conditions = { "rack:1": RACK, "wan:1": RACK };
  const manager = new HybridManager({
    clock,
    config: { linkModes: "per-peer", sampleWindow: 1, cooldownMs: 0, initialMode: "datacenter" },
    probes: [peersProbe(conditions)],
  });
  const changes: LinkChange[] = [];
  manager.on("link-mode", (change) => changes.push(change));
  await manager.detectNow();
  assert.equal(manager.linkMode("wan:1"), "datacenter");
  conditions["wan:1"] = WAN;
  await manager.detectNow();
  assert.equal(manager.linkMode("rack:1"), "datacenter");
  assert.equal(manager.linkMode("wan:1"), "internet");
  // Never measured: the node's mode.
  assert.equal(manager.linkMode("elsewhere:1"), manager.currentMode);
  assert.deepEqual(changes.map((change) => [change.peer, change.to]), [["wan:1", "internet"]]);
  const links = manager.getStats().links!;
  assert.equal(links["rack:1"].mode, "datacenter");
  assert.equal(links["wan:1"].mode, "internet");
  assert.match(links["wan:1"].reason, /internet:/);
  await manager.close();
});

Deno.test("manager, global: every link follows the node's mode and stats have no links", async () => {
  const clock = new ManualClock();
  const manager = new HybridManager({
    clock,
    config: { sampleWindow: 1, cooldownMs: 0, initialMode: "datacenter" },
    probes: [peersProbe({ "rack:1": RACK, "wan:1": WAN })],
  });
  await manager.detectNow();
  assert.equal(manager.currentMode, "internet");
  assert.equal(manager.linkMode("rack:1"), "internet");
  assert.equal(manager.getStats().links, undefined);
  assert.equal(manager.config.linkModes, "global");
  await manager.close();
});

Deno.test("manager, per-peer: a probe that failed this round does not count what its peers() still holds", async () => {
  const clock = new ManualClock();
  let fail = false;
  const probe: Probe = {
    name: "flaky",
    measure: () => fail ? Promise.reject(new Error("down")) : Promise.resolve({ rttMs: 80 }),
    // Once failing, peers() answers with what it would have measured: not this round's measurement.
    peers: () => ({ "wan:1": fail ? RACK : WAN }),
  };
  const manager = new HybridManager({
    clock,
    config: { linkModes: "per-peer", sampleWindow: 3, cooldownMs: 0, initialMode: "datacenter" },
    probes: [probe],
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });
  await manager.detectNow();
  assert.equal(manager.linkMode("wan:1"), "internet");
  fail = true;
  await manager.detectNow();
  await manager.detectNow();
  // Counted, the window would hold one WAN sample and two rack ones, and the link would be back on the rack.
  assert.equal(manager.linkMode("wan:1"), "internet");
  assert.deepEqual(manager.getStats().links!["wan:1"].summary, WAN);
  await manager.close();
});

Deno.test("config: linkModes accepts global and per-peer, and names the field otherwise", () => {
  assert.equal(resolveConfig({ linkModes: "per-peer" }).linkModes, "per-peer");
  assert.throws(
    () => resolveConfig({ linkModes: "per-link" as never }),
    (error: Error) => /linkModes/.test(error.message) && /global, per-peer/.test(error.message),
  );
});
