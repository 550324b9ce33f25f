import assert from "node:assert/strict";
import { resolveConfig, ValidationError } from "../../mod.ts";
import { CLUSTER_MANAGER_SETTINGS } from "../../examples/cluster/launch.ts";
import {
  BUILTIN_SCENARIOS,
  expectedLinkModes,
  expectedModes,
  LINKS,
  parseScenario,
  racksOf,
} from "../../examples/cluster/scenario.ts";

const thresholds = resolveConfig(CLUSTER_MANAGER_SETTINGS);
const SPLIT = { racks: [["n1", "n2"], ["n3", "n4"]], wan: LINKS.wan };

Deno.test("scenario: a split phase takes racks and a WAN link; bad ones are refused naming the field", () => {
  const parsed = parseScenario(JSON.stringify({
    phases: [{ name: "two racks", seconds: 5, ...LINKS.rack, split: SPLIT, expect: "internet" }],
  }));
  assert.deepEqual(parsed.phases[0].split?.racks, SPLIT.racks);
  const refused = (phase: Record<string, unknown>, path: RegExp) =>
    assert.throws(
      () => parseScenario(JSON.stringify({ phases: [{ name: "x", seconds: 5, ...LINKS.rack, ...phase }] })),
      (error: unknown) => error instanceof ValidationError && error.issues.some((issue) => path.test(issue.path)),
    );
  refused({ split: { racks: [["n1", "n2"]], wan: LINKS.wan } }, /^phases\.0\.split\.racks$/);
  refused({ split: { racks: [["n1"], ["n1", "n2"]], wan: LINKS.wan } }, /^phases\.0\.split\.racks$/);
  refused({ split: { racks: [["n1"], ["server-2"]], wan: LINKS.wan } }, /^phases\.0\.split\.racks\.1\.0$/);
  refused({ split: { racks: [["n1"], ["n2"]] } }, /^phases\.0\.split\.wan$/);
  refused({ expect: "lan" }, /^phases\.0\.expect$/);
});

Deno.test("scenario: a split's cluster mode is what the phase expects; its links, each their own", () => {
  const phases = BUILTIN_SCENARIOS.split;
  assert.deepEqual(expectedModes(phases, thresholds, "datacenter"), ["datacenter", "internet", "datacenter"]);
  assert.deepEqual(expectedLinkModes(phases, thresholds, "datacenter"), [
    { rack: "datacenter" },
    { rack: "datacenter", wan: "internet" },
    { rack: "datacenter" },
  ]);
  assert.equal(racksOf(phases[0]), undefined);
  assert.deepEqual([...racksOf(phases[1])!], [["n1", 0], ["n2", 0], ["n3", 1], ["n4", 1]]);
  // Without a split, every link follows the phase's one link, as the cluster does.
  assert.deepEqual(
    expectedLinkModes(BUILTIN_SCENARIOS.quick, thresholds, "datacenter").map((links) => links.rack),
    expectedModes(BUILTIN_SCENARIOS.quick, thresholds, "datacenter"),
  );
});
