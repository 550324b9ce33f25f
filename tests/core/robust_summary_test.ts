import assert from "node:assert/strict";
import { classify, resolveConfig, seededRandom, ValidationError } from "../../mod.ts";
import { robustSummary } from "../../core/control/robust_summary.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";

const MEMBERS = ["a", "b", "c", "d"];
const RACK: NetworkSample = { rttMs: 0.3, bandwidthMbps: 20_000, lossRatio: 0 };
const thresholds = resolveConfig({});

Deno.test("robust summary: one member lying about its network cannot force a switch to internet", () => {
  const reports = new Map<string, NetworkSample>([
    ["a", RACK],
    ["b", { rttMs: 0.4, bandwidthMbps: 18_000, lossRatio: 0 }],
    ["c", { rttMs: 0.5, bandwidthMbps: 25_000, lossRatio: 0.0001 }],
    ["d", { rttMs: 5_000, bandwidthMbps: 0.1, lossRatio: 0.9 }],
  ]);
  const summary = robustSummary(reports, { members: MEMBERS, faultTolerance: 1 });
  assert.deepEqual(summary.sample, { rttMs: 0.45, bandwidthMbps: 19_000, lossRatio: 0.00005 });
  assert.equal(classify(summary.sample, "datacenter", thresholds).mode, "datacenter");
  // Without the rule (a plain mean), the liar would have moved the cluster.
  const mean = [...reports.values()].reduce((sum, report) => sum + report.rttMs!, 0) / reports.size;
  assert.equal(classify({ ...summary.sample, rttMs: mean }, "datacenter", thresholds).mode, "internet");
});

Deno.test("robust summary: one member withholding its report cannot block a switch the others measure", () => {
  const wan: NetworkSample = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };
  const reports = new Map<string, NetworkSample>([["a", wan], ["b", { ...wan, rttMs: 140 }], ["c", wan]]);
  const summary = robustSummary(reports, { members: MEMBERS, faultTolerance: 1 });
  assert.equal(summary.reporters.rttMs, 3);
  assert.equal(classify(summary.sample, "datacenter", thresholds).mode, "internet");
  // Lying instead of withholding does not help either.
  reports.set("d", RACK);
  assert.equal(
    classify(robustSummary(reports, { members: MEMBERS, faultTolerance: 1 }).sample, "datacenter", thresholds).mode,
    "internet",
  );
});

Deno.test("robust summary: fewer than 2f + 1 reports of a measure leave it unknown", () => {
  const reports = new Map<string, NetworkSample>([["a", RACK], ["b", { rttMs: 0.2 }]]);
  const summary = robustSummary(reports, { members: MEMBERS, faultTolerance: 1 });
  assert.equal(summary.required, 3);
  assert.deepEqual(summary.sample, {});
  assert.deepEqual(summary.reporters, { rttMs: 2, bandwidthMbps: 1, lossRatio: 1 });
});

Deno.test("robust summary: reports from non-members and non-finite values are left out", () => {
  const reports = new Map<string, NetworkSample>([
    ["a", RACK],
    ["b", RACK],
    ["c", { ...RACK, rttMs: Number.NaN }],
    ["evil", { rttMs: 9_000 }],
    ["evil2", { rttMs: 9_000 }],
  ]);
  const summary = robustSummary(reports, { members: MEMBERS, faultTolerance: 1 });
  assert.deepEqual(summary.ignored, ["evil", "evil2"]);
  assert.equal(summary.reporters.rttMs, 2);
  assert.equal(summary.sample.rttMs, undefined);
  assert.equal(summary.sample.bandwidthMbps, 20_000);
});

Deno.test("robust summary: f liars of n >= 2f + 1 reporters keep every measure within the correct members' range", () => {
  const random = seededRandom(7);
  for (let round = 0; round < 2_000; round++) {
    const f = 1 + Math.floor(random.next() * 3);
    const n = 3 * f + 1;
    const members = Array.from({ length: n }, (_, i) => `m${i}`);
    const liars = new Set(members.slice(0, f));
    const withheld = Math.floor(random.next() * (f + 1)); // correct members that did not report
    const reports = new Map<string, NetworkSample>();
    const correct: number[] = [];
    for (const member of members.slice(f + withheld)) {
      const rttMs = 1 + random.next() * 10;
      correct.push(rttMs);
      reports.set(member, { rttMs });
    }
    for (const liar of liars) reports.set(liar, { rttMs: random.next() < 0.5 ? 0 : 1e9 });
    const { sample } = robustSummary(reports, { members, faultTolerance: f });
    assert.ok(sample.rttMs !== undefined, `round ${round}: ${reports.size} reports of ${n}`);
    assert.ok(
      sample.rttMs >= Math.min(...correct) && sample.rttMs <= Math.max(...correct),
      `round ${round}: ${sample.rttMs} outside the correct range`,
    );
  }
});

Deno.test("robust summary: bad options are refused naming the field", () => {
  assert.throws(
    () => robustSummary(new Map(), { members: MEMBERS, faultTolerance: -1 }),
    (error) => error instanceof ValidationError && error.issues[0].path === "faultTolerance",
  );
  assert.throws(
    () => robustSummary(new Map(), { members: ["a", "a"], faultTolerance: 0 }),
    (error) => error instanceof ValidationError && error.issues[0].path === "members",
  );
});
