import assert from "node:assert/strict";
import { median, mergeSamples, SampleWindow } from "../../core/control/public.ts";
import { sampleIssues } from "../../core/contracts/sample.ts";

Deno.test("median handles odd, even and unsorted input", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.throws(() => median([]), { name: "SwitchyardError", code: "INVALID_ARGUMENT" });
});

Deno.test("SampleWindow keeps the last N values per measure and ignores one outlier", () => {
  const window = new SampleWindow(5);
  assert.equal(window.empty, true);
  assert.deepEqual(window.medians(), {});
  for (const rttMs of [1, 1, 1, 1]) window.push({ rttMs });
  window.push({ rttMs: 500, bandwidthMbps: 10 });
  assert.deepEqual(window.medians(), { rttMs: 1, bandwidthMbps: 10 });
  for (const rttMs of [9, 9, 9]) window.push({ rttMs });
  // Window now holds [1, 1, 500, 9, 9, 9] minus the oldest: [1, 500, 9, 9, 9].
  assert.equal(window.medians().rttMs, 9);
  window.clear();
  assert.equal(window.empty, true);
  assert.throws(() => new SampleWindow(0), { name: "SwitchyardError", code: "INVALID_ARGUMENT" });
});

Deno.test("mergeSamples keeps the worst value of each measure", () => {
  assert.deepEqual(
    mergeSamples([
      { rttMs: 2, bandwidthMbps: 10_000 },
      { rttMs: 40, bandwidthMbps: 300, lossRatio: 0.001 },
      { lossRatio: 0 },
    ]),
    { rttMs: 40, bandwidthMbps: 300, lossRatio: 0.001 },
  );
  assert.deepEqual(mergeSamples([]), {});
});

Deno.test("sampleIssues names bad measures", () => {
  assert.deepEqual(sampleIssues({ rttMs: 1, bandwidthMbps: 2, lossRatio: 0.5 }), []);
  assert.deepEqual(sampleIssues({ rttMs: -1, bandwidthMbps: Number.NaN, lossRatio: 2 }).map((i) => i.path), [
    "rttMs",
    "bandwidthMbps",
    "lossRatio",
  ]);
  assert.equal(sampleIssues(null).length, 1);
  assert.equal(sampleIssues({ rttMs: "3" }).length, 1);
});
