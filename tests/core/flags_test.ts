import assert from "node:assert/strict";
import { FeatureFlags, ValidationError } from "../../mod.ts";
import { fnv1a32, rolloutBucket } from "../../core/control/public.ts";

Deno.test("fnv1a32 matches the published test vectors", () => {
  assert.equal(fnv1a32(""), 0x811c9dc5);
  assert.equal(fnv1a32("a"), 0xe40c292c);
  assert.equal(fnv1a32("foobar"), 0xbf9cf968);
});

Deno.test("rollout puts about the right share of 10,000 node ids in, and always the same ones", () => {
  const ids = Array.from({ length: 10_000 }, (_, i) => `node-${i}.cluster.example`);
  for (const percentage of [0, 1, 10, 25, 50, 75, 99, 100]) {
    const flags = new FeatureFlags({ v3RolloutPercentage: percentage });
    const inside = ids.filter((id) => flags.usesV3(id)).length;
    const share = (inside / ids.length) * 100;
    assert.ok(Math.abs(share - percentage) <= 2, `${percentage} %: got ${share.toFixed(2)} %`);
  }
  const flags = new FeatureFlags({ v3RolloutPercentage: 37 });
  for (const id of ids.slice(0, 500)) {
    assert.equal(flags.usesV3(id), flags.usesV3(id));
    assert.equal(flags.usesV3(id), rolloutBucket(id) < 37);
  }
});

Deno.test("forceV1Mode overrides the rollout", () => {
  const flags = new FeatureFlags({ v3RolloutPercentage: 100 });
  assert.equal(flags.usesV3("any"), true);
  flags.update({ forceV1Mode: true });
  assert.equal(flags.usesV3("any"), false);
});

Deno.test("flags validate updates and notify listeners", () => {
  const flags = new FeatureFlags();
  const seen: number[] = [];
  const off = flags.onChange((values) => seen.push(values.v3RolloutPercentage));
  flags.update({ v3RolloutPercentage: 40 });
  off();
  flags.update({ v3RolloutPercentage: 41 });
  assert.deepEqual(seen, [40]);
  assert.equal(flags.values.v3RolloutPercentage, 41);
  try {
    flags.update({ v3RolloutPercentage: 140, enableHybridMode: "no", bogus: true } as never);
    assert.fail("must throw");
  } catch (error) {
    assert.ok(error instanceof ValidationError);
    assert.deepEqual(error.issues.map((issue) => issue.path).sort(), [
      "flags.bogus",
      "flags.enableHybridMode",
      "flags.v3RolloutPercentage",
    ]);
  }
  assert.equal(flags.values.v3RolloutPercentage, 41, "a rejected update changes nothing");
});
