import assert from "node:assert/strict";
import { seededRandom } from "../../mod.ts";

Deno.test("seededRandom replays the same sequence for the same seed and spreads evenly", () => {
  const a = seededRandom(7);
  const b = seededRandom(7);
  const first = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(first, Array.from({ length: 100 }, () => b.next()));
  assert.notDeepEqual(first, Array.from({ length: 100 }, () => seededRandom(8).next()));
  const buckets = new Array(10).fill(0);
  const random = seededRandom(1);
  for (let i = 0; i < 100_000; i++) buckets[Math.floor(random.next() * 10)]++;
  for (const count of buckets) assert.ok(Math.abs(count - 10_000) < 500, `bucket count ${count}`);
  const x = random.between(5, 6);
  assert.ok(x >= 5 && x < 6);
});
