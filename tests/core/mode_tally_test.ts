import assert from "node:assert/strict";
import { resolveConfig, seededRandom, ValidationError } from "../../mod.ts";
import { type AgreedMode, ModeTally, type ModeTallyEntry } from "../../core/control/mode_tally.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";

const MEMBERS = ["a", "b", "c", "d"];
const RACK: NetworkSample = { rttMs: 0.3, bandwidthMbps: 20_000, lossRatio: 0 };
const WAN: NetworkSample = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };
const thresholds = resolveConfig({});

function tally(options: Partial<ConstructorParameters<typeof ModeTally>[0]> = {}) {
  return new ModeTally({ members: MEMBERS, faultTolerance: 1, thresholds, cooldownMs: 10_000, ...options });
}
const report = (member: string, atMs: number, summary: NetworkSample): ModeTallyEntry => ({
  kind: "report",
  member,
  atMs,
  summary,
});

/** Applies entries at indices 1, 2, …; returns the decisions with their indices. */
function run(target: ModeTally, entries: ModeTallyEntry[], firstIndex = 1): AgreedMode[] {
  return entries.flatMap((entry, i) => target.apply(entry, firstIndex + i) ?? []);
}

Deno.test("mode tally: the cluster switches once 2f + 1 members report a WAN, at the entry that tipped it", () => {
  const decisions = run(tally(), [report("a", 1_000, WAN), report("b", 1_000, WAN), report("c", 1_000, WAN)]);
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0].mode, "internet");
  assert.equal(decisions[0].index, 3);
  assert.equal(decisions[0].epoch, 1);
  assert.match(decisions[0].reason, /^internet: rttMs 120/);
});

Deno.test("mode tally: one lying member cannot force a switch, however often it reports", () => {
  const target = tally();
  const entries = [report("a", 1_000, RACK), report("b", 1_000, RACK), report("c", 1_000, RACK)];
  for (let i = 0; i < 50; i++) entries.push(report("d", 1_000 + i, { rttMs: 9_000, bandwidthMbps: 1, lossRatio: 0.5 }));
  assert.deepEqual(run(target, entries), []);
  assert.equal(target.agreed.mode, "datacenter");
});

Deno.test("mode tally: one member withholding its report, or lying the other way, cannot block a switch", () => {
  const silent = run(tally(), [report("a", 1_000, WAN), report("b", 1_000, WAN), report("c", 1_000, WAN)]);
  assert.equal(silent.at(-1)?.mode, "internet");
  const lying = run(tally(), [
    report("d", 900, RACK),
    report("a", 1_000, WAN),
    report("b", 1_000, WAN),
    report("d", 1_001, RACK),
    report("c", 1_000, WAN),
  ]);
  assert.equal(lying.at(-1)?.mode, "internet");
});

Deno.test("mode tally: a second change waits for the cooldown on the members' robust clock", () => {
  const target = tally({ cooldownMs: 10_000 });
  run(target, ["a", "b", "c"].map((member) => report(member, 1_000, WAN)));
  assert.equal(target.agreed.mode, "internet");
  assert.deepEqual(run(target, ["a", "b", "c"].map((member) => report(member, 5_000, RACK)), 4), []);
  // One member's clock running ahead does not end the cooldown for the others.
  assert.deepEqual(run(target, [report("d", 60_000, RACK)], 7), []);
  const after = run(target, ["a", "b"].map((member) => report(member, 11_000, RACK)), 8);
  assert.equal(after.length, 1);
  assert.equal(after[0].mode, "datacenter");
  assert.equal(after[0].index, 9, "decided when the robust clock passed the cooldown");
});

Deno.test("mode tally: replayed, older, foreign and malformed entries are ignored and counted", () => {
  const target = tally();
  run(target, [
    report("a", 1_000, WAN),
    report("a", 1_000, WAN),
    report("a", 500, WAN),
    report("mallory", 2_000, WAN),
    report("b", Number.NaN, WAN),
    report("c", 1_000, { rttMs: -5 }),
    { kind: "force", member: "b", atMs: 3_000, mode: "warp" as never, reason: "x" },
  ]);
  assert.deepEqual(target.stats().ignored, { "not-a-member": 1, "not-newer": 2, invalid: 3 });
  assert.deepEqual(Object.keys(target.stats().reports), ["a"]);
});

Deno.test("mode tally: reports older than maxReportAgeMs behind the robust clock no longer count", () => {
  const target = tally({ maxReportAgeMs: 5_000 });
  const release = (member: string, atMs: number): ModeTallyEntry => ({
    kind: "force",
    member,
    atMs,
    mode: null,
    reason: "",
  });
  run(target, [report("a", 1_000, WAN), report("b", 1_000, WAN), release("c", 30_000), release("d", 30_000)]);
  // The robust clock is at 15,500 ms: a's and b's reports are stale, so c's is the only fresh one (with a's
  // and b's counted, three WAN reports would switch here).
  assert.deepEqual(run(target, [report("c", 30_001, WAN)], 5), []);
  assert.equal(target.agreed.mode, "datacenter");
  assert.deepEqual(run(target, [report("d", 30_001, WAN)], 6), []);
  const decided = run(target, [report("a", 30_002, WAN)], 7);
  assert.equal(decided.at(-1)?.mode, "internet");
  assert.equal(decided.at(-1)?.index, 7);
});

Deno.test("mode tally: a forced mode needs f + 1 members; released, the measurements decide again", () => {
  const target = tally();
  run(target, ["a", "b", "c"].map((member) => report(member, 1_000, RACK)));
  const force = (member: string, atMs: number, mode: "internet" | null): ModeTallyEntry => ({
    kind: "force",
    member,
    atMs,
    mode,
    reason: "operator drill",
  });
  assert.deepEqual(run(target, [force("d", 2_000, "internet")], 4), [], "one member cannot force");
  const held = run(target, [force("a", 2_000, "internet")], 5);
  assert.equal(held[0].mode, "internet");
  assert.equal(held[0].forced, true);
  assert.match(held[0].reason, /^forced: operator drill/);
  assert.deepEqual(run(target, ["a", "b", "c"].map((member) => report(member, 3_000, RACK)), 6), [], "held");
  const released = run(target, [force("a", 4_000, null), force("d", 4_000, null)], 9);
  assert.equal(released.at(-1)?.mode, "datacenter", "the rack the members measure, at once");
  assert.equal(released.at(-1)?.forced, false);
  const fresh = tally();
  const early = run(fresh, [force("a", 1_000, "internet"), force("b", 1_000, "internet")]);
  assert.equal(early.at(-1)?.mode, "internet", "a hold before anyone reported");
});

Deno.test("mode tally: replicas applying the same log decide the same at the same index, snapshots included", () => {
  const random = seededRandom(11);
  const entries: ModeTallyEntry[] = [];
  const clocks = new Map(MEMBERS.map((member) => [member, 0]));
  for (let i = 0; i < 3_000; i++) {
    const member = MEMBERS[Math.floor(random.next() * MEMBERS.length)];
    const atMs = clocks.get(member)! + Math.floor(random.next() * 2_000);
    clocks.set(member, atMs);
    const phase = Math.floor(i / 500) % 3;
    const summary = phase === 0
      ? RACK
      : phase === 1
      ? WAN
      : { rttMs: 5 + random.next() * 30, bandwidthMbps: 500, lossRatio: 0 };
    entries.push(
      random.next() < 0.02
        ? { kind: "force", member, atMs, mode: random.next() < 0.5 ? "hybrid" : null, reason: "drill" }
        : report(member, atMs, summary),
    );
  }
  const one = tally();
  const decisions = run(one, entries);
  assert.ok(decisions.length >= 3, `${decisions.length} decisions`);
  const two = tally();
  const firstHalf = run(two, entries.slice(0, 1_500));
  const restored = tally();
  restored.restore(two.snapshot());
  const secondHalf = run(restored, entries.slice(1_500), 1_501);
  assert.deepEqual([...firstHalf, ...secondHalf], decisions);
  assert.deepEqual(restored.stats(), one.stats());
});

Deno.test("mode tally: bad options are refused naming each field", () => {
  assert.throws(
    () => tally({ faultTolerance: 1.5, cooldownMs: -1, members: [] }),
    (error) =>
      error instanceof ValidationError &&
      error.issues.map((issue) => issue.path).join() === "faultTolerance,members,cooldownMs",
  );
});

Deno.test("mode tally: a member's report and force are ordered apart: a force that reaches the log after a newer report still counts", () => {
  const forceAt = (member: string, atMs: number, mode: "internet" | null): ModeTallyEntry => ({
    kind: "force",
    member,
    atMs,
    mode,
    reason: "evidence",
  });
  const target = tally();
  // Each member proposed a force at 1,000, then a report at 1,020 that overtook it on the way to the log.
  run(target, [report("a", 1_020, RACK), forceAt("a", 1_000, "internet"), report("b", 1_020, RACK)]);
  const decided = run(target, [forceAt("b", 1_000, "internet")], 4);
  assert.equal(decided.at(-1)?.mode, "internet", "f + 1 forces hold the cluster");
  assert.equal(target.stats().ignored["not-newer"], 0);
  // A force older than the member's previous force is still a replay.
  run(target, [forceAt("a", 999, null)], 5);
  assert.equal(target.stats().ignored["not-newer"], 1);
  assert.equal(target.stats().forces.a, "internet");
  assert.deepEqual([target.appliedAt("a", "force"), target.appliedAt("a", "report")], [1_000, 1_020]);
  assert.equal(target.appliedAt("c", "force"), undefined);
  // And it survives a snapshot.
  const restored = tally();
  restored.restore(target.snapshot());
  run(restored, [forceAt("a", 999, null)], 6);
  assert.equal(restored.stats().forces.a, "internet");
});

Deno.test("mode tally: a member whose entry was stamped far ahead of the others' clock is heard again once its clock is set right", () => {
  const target = tally();
  run(target, [report("a", 1_000, RACK), report("b", 1_000, RACK), report("c", 1_000, RACK)]);
  // d's clock jumped an hour ahead, then was set right.
  run(target, [report("d", 3_601_000, RACK)], 4);
  const decisions = run(target, [report("d", 2_000, WAN), report("a", 2_000, WAN), report("b", 2_000, WAN)], 5);
  assert.deepEqual(
    target.stats().reports.d,
    { atMs: 2_000, summary: WAN },
    "d's entry took the place of its future one",
  );
  assert.equal(decisions[0]?.mode, "internet", "d's vote counts again");
  assert.equal(target.stats().ignored["not-newer"], 0);
  // Within maxReportAgeMs of the others, time order holds: an older entry is still ignored.
  run(target, [report("d", 1_500, RACK)], 8);
  assert.deepEqual(target.stats().reports.d, { atMs: 2_000, summary: WAN });
  assert.equal(target.stats().ignored["not-newer"], 1);
});
