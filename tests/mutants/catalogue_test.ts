// The mutation catalogue stays applicable (a snippet someone edited away fails here, in the default run, not
// only in `deno task test:mutants`), and the runner's parts decide verdicts as documented. The mutation run
// itself does not copy this folder: a mutant must be caught by the tests of the code, not by this check.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { MUTANTS } from "./catalogue.ts";
import { applyMutant } from "./mutant.ts";
import { failingTests, simulationEvidence, table, verdictOf } from "./run.ts";

const root = new URL("../../", import.meta.url);

Deno.test("mutants: every snippet is found exactly once in its file, so no mutant is stale", () => {
  for (const mutant of MUTANTS) {
    const source = readFileSync(new URL(mutant.file, root), "utf8");
    const applied = applyMutant(source, mutant);
    assert.ok(applied.ok, `${mutant.name} (${mutant.file}) is stale: ${!applied.ok && applied.reason}`);
    assert.notEqual(applied.text, source);
  }
});

Deno.test("mutants: names are unique kebab-case, and each says what it breaks and what catches it", () => {
  const names = MUTANTS.map((mutant) => mutant.name);
  assert.equal(new Set(names).size, names.length, "duplicate names");
  for (const mutant of MUTANTS) {
    assert.match(mutant.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(mutant.description.length > 20, `${mutant.name}: describe the bug`);
    assert.ok(mutant.caughtBy.length > 5, `${mutant.name}: name the check that catches it`);
  }
});

Deno.test("mutants: a snippet that is missing or ambiguous is refused, naming why", () => {
  assert.deepEqual(applyMutant("a b c", { find: "b", replace: "B" }), { ok: true, text: "a B c" });
  assert.deepEqual(applyMutant("a b c", { find: "x", replace: "y" }), { ok: false, reason: "snippet not found" });
  assert.deepEqual(applyMutant("b b", { find: "b", replace: "B" }), { ok: false, reason: "snippet found 2 times" });
  assert.equal(applyMutant("a", { find: "", replace: "b" }).ok, false);
  assert.equal(applyMutant("a", { find: "a", replace: "a" }).ok, false);
});

const FAILED_RUN = `running 2 tests from ./tests/sim/raft_sim_test.ts
raft simulation: seeds 1-100 keep every invariant ... FAILED (1s)

 ERRORS 

raft simulation: seeds 1-100 keep every invariant => ./tests/sim/raft_sim_test.ts:9:8
error: AssertionError: seed 35 FAILED (rerun: deno task test:sim --engine raft --seed 35 --verbose)
  history is not linearizable on key "y"

 FAILURES 

raft simulation: seeds 1-100 keep every invariant => ./tests/sim/raft_sim_test.ts:9:8
raft: a directed test => ./tests/plugins/consensus_raft_test.ts:67:6

FAILED | 1 passed | 2 failed (2s)
`;

Deno.test("mutants: a run with failing tests catches the mutant, naming the tests and the first failing seed", () => {
  assert.deepEqual(failingTests(FAILED_RUN), [
    "raft simulation: seeds 1-100 keep every invariant (./tests/sim/raft_sim_test.ts:9:8)",
    "raft: a directed test (./tests/plugins/consensus_raft_test.ts:67:6)",
  ]);
  assert.deepEqual(simulationEvidence(FAILED_RUN), ['first failing seed 35: history is not linearizable on key "y"']);
  const verdict = verdictOf(false, false, FAILED_RUN);
  assert.equal(verdict.verdict, "caught");
  assert.equal(verdict.detail.length, 3);
});

Deno.test("mutants: a passing run misses it; a failed run without a failing test, or a timeout, is an error", () => {
  assert.equal(verdictOf(true, false, "ok | 3 passed | 0 failed").verdict, "missed");
  const typeError = verdictOf(false, false, "error: TS2367 [ERROR]: This comparison appears to be unintentional\n");
  assert.equal(typeError.verdict, "error");
  assert.match(typeError.detail[0], /without a failing test: error: TS2367/);
  assert.equal(verdictOf(false, true, FAILED_RUN).verdict, "error");
});

Deno.test("mutants: the table has a row per mutant with its verdict and time", () => {
  const text = table([
    { name: "one", verdict: "caught", detail: verdictOf(false, false, FAILED_RUN).detail, seconds: 41.2 },
    { name: "two", verdict: "stale", detail: ["plugins/x.ts: snippet not found"], seconds: 0 },
  ]);
  const lines = text.split("\n");
  assert.equal(lines.length, 4);
  assert.match(
    lines[2],
    /^one +\| CAUGHT +\| raft simulation: seeds 1-100 keep every invariant \(2 failed\) \| first failing seed 35/,
  );
  assert.match(lines[2], /41\.2 s$/);
  assert.match(lines[3], /^two +\| STALE +\| +\| plugins\/x\.ts: snippet not found/);
});

Deno.test("mutants: tests that fail without the mutant too (the baseline) do not catch it", () => {
  const [simulation, directed] = failingTests(FAILED_RUN);
  const partly = verdictOf(false, false, FAILED_RUN, new Set([directed]));
  assert.equal(partly.verdict, "caught");
  assert.deepEqual(partly.detail.slice(0, 1), [simulation]);
  const only = verdictOf(false, false, FAILED_RUN, new Set([simulation, directed]));
  assert.deepEqual(only, { verdict: "missed", detail: ["only tests that fail without the mutant too failed"] });
});
