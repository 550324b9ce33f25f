import assert from "node:assert/strict";
import { classify, type Mode, ModeDetector, resolveConfig } from "../../mod.ts";

const config = resolveConfig();
const good = { bandwidthMbps: 10_000, lossRatio: 0 };

Deno.test("classify: datacenter needs every measure good", () => {
  assert.equal(classify({ rttMs: 1, ...good }, "hybrid", config).mode, "datacenter");
  assert.equal(classify({ rttMs: 1, bandwidthMbps: 10_000 }, "hybrid", config).mode, "hybrid", "loss never seen");
  assert.equal(classify({ rttMs: 1, lossRatio: 0 }, "hybrid", config).mode, "hybrid", "bandwidth never seen");
  assert.equal(classify({ ...good }, "hybrid", config).mode, "hybrid", "rtt never seen");
  assert.equal(classify({}, "datacenter", config).mode, "hybrid", "nothing seen is not good");
});

Deno.test("classify: internet when any measure is bad enough", () => {
  assert.equal(classify({ rttMs: 120, ...good }, "hybrid", config).mode, "internet");
  assert.equal(classify({ rttMs: 1, bandwidthMbps: 100, lossRatio: 0 }, "hybrid", config).mode, "internet");
  assert.equal(classify({ rttMs: 1, bandwidthMbps: 10_000, lossRatio: 0.05 }, "hybrid", config).mode, "internet");
  assert.equal(classify({ rttMs: 25, ...good }, "hybrid", config).mode, "hybrid");
  const decision = classify({ rttMs: 120, bandwidthMbps: 100, lossRatio: 0 }, "hybrid", config);
  assert.match(decision.reason, /rttMs 120 > 55/);
  assert.match(decision.reason, /bandwidthMbps 100 < 900/);
});

Deno.test("hysteresis: out of datacenter only past 11 ms or under 900 Mbps", () => {
  const from: Mode = "datacenter";
  assert.equal(classify({ rttMs: 10.9, ...good }, from, config).mode, "datacenter");
  assert.equal(classify({ rttMs: 11.1, ...good }, from, config).mode, "hybrid");
  assert.equal(classify({ rttMs: 1, bandwidthMbps: 910, lossRatio: 0 }, from, config).mode, "datacenter");
  assert.equal(classify({ rttMs: 1, bandwidthMbps: 890, lossRatio: 0 }, from, config).mode, "internet");
});

Deno.test("hysteresis: into datacenter only under 9 ms and above 1100 Mbps", () => {
  for (const from of ["hybrid", "internet"] as const) {
    assert.equal(classify({ rttMs: 9.1, ...good }, from, config).mode, "hybrid");
    assert.equal(classify({ rttMs: 8.9, bandwidthMbps: 1_090, lossRatio: 0 }, from, config).mode, from);
    assert.equal(classify({ rttMs: 8.9, bandwidthMbps: 1_110, lossRatio: 0 }, from, config).mode, "datacenter");
  }
});

Deno.test("hysteresis: out of internet only under 45 ms and above 1100 Mbps and loss under 0.9 %", () => {
  assert.equal(classify({ rttMs: 46, ...good }, "internet", config).mode, "internet");
  assert.equal(classify({ rttMs: 44, ...good }, "internet", config).mode, "hybrid");
  assert.equal(classify({ rttMs: 30, bandwidthMbps: 1_050, lossRatio: 0 }, "internet", config).mode, "internet");
  assert.equal(classify({ rttMs: 30, bandwidthMbps: 2_000, lossRatio: 0.0095 }, "internet", config).mode, "internet");
  assert.equal(classify({ rttMs: 30, bandwidthMbps: 2_000, lossRatio: 0.0085 }, "internet", config).mode, "hybrid");
});

Deno.test("jitter of ±5 % around every threshold never changes the mode", () => {
  const cases: { measure: "rttMs" | "bandwidthMbps" | "lossRatio"; threshold: number; base: Record<string, number> }[] =
    [
      { measure: "rttMs", threshold: 10, base: { bandwidthMbps: 10_000, lossRatio: 0 } },
      { measure: "rttMs", threshold: 50, base: { bandwidthMbps: 10_000, lossRatio: 0 } },
      { measure: "bandwidthMbps", threshold: 1_000, base: { rttMs: 1, lossRatio: 0 } },
      { measure: "lossRatio", threshold: 0.01, base: { rttMs: 20, bandwidthMbps: 10_000 } },
      { measure: "lossRatio", threshold: 0.001, base: { rttMs: 1, bandwidthMbps: 10_000 } },
    ];
  for (const { measure, threshold, base } of cases) {
    for (const start of ["datacenter", "internet", "hybrid"] as const) {
      // Settle on whatever mode the threshold value itself gives from `start`.
      let mode: Mode = classify({ ...base, [measure]: threshold }, start, config).mode;
      const settled = mode;
      for (let step = 0; step <= 200; step++) {
        const factor = 1 + 0.05 * Math.sin(step * 0.7);
        mode = classify({ ...base, [measure]: threshold * factor }, mode, config).mode;
        assert.equal(mode, settled, `${measure} ~${threshold} from ${start}: switched at step ${step}`);
      }
    }
  }
});

Deno.test("ModeDetector decides from medians: one outlier does not switch", () => {
  const detector = new ModeDetector(resolveConfig({ sampleWindow: 5 }));
  assert.equal(detector.decide("hybrid"), undefined, "nothing measured yet");
  for (let i = 0; i < 4; i++) detector.observe({ rttMs: 1, ...good });
  assert.equal(detector.decide("hybrid")?.mode, "datacenter");
  detector.observe({ rttMs: 900, bandwidthMbps: 5, lossRatio: 0.5 });
  assert.equal(detector.decide("datacenter")?.mode, "datacenter");
  assert.equal(detector.summary().rttMs, 1);
  detector.observe({ rttMs: 900, bandwidthMbps: 5, lossRatio: 0.5 });
  detector.observe({ rttMs: 900, bandwidthMbps: 5, lossRatio: 0.5 });
  assert.equal(detector.decide("datacenter")?.mode, "internet", "a sustained change does switch");
  detector.reset();
  assert.equal(detector.decide("internet"), undefined);
});
