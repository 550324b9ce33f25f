import assert from "node:assert/strict";
import { ManualClock } from "../../core/util/clock.ts";
import { PeerRate } from "../../plugins/consensus-adaptive/peer_rate.ts";
import { relayRate } from "../../plugins/consensus-adaptive/epoch_service.ts";

Deno.test("peer rate: a burst at once, then the rate; each peer its own bucket", async () => {
  const clock = new ManualClock();
  const rate = new PeerRate(clock, 3, 2);
  assert.deepEqual([1, 2, 3, 4].map(() => rate.take("a")), [true, true, true, false]);
  assert.equal(rate.take("b"), true, "another peer's bucket is full");
  await clock.advance(499);
  assert.equal(rate.take("a"), false, "half a second earns one token at 2 a second: not yet");
  await clock.advance(1);
  assert.equal(rate.take("a"), true);
  await clock.advance(10_000);
  assert.deepEqual([1, 2, 3, 4].map(() => rate.take("a")), [true, true, true, false], "never more than the burst");
});

Deno.test("relay rate: twice the members' report pace, plus room for forces and retries", () => {
  assert.deepEqual(relayRate(1000), { burst: 34, perSecond: 18 });
  // The test clusters report every 20 ms (50 a second): a fixed 16 a second dropped two of three.
  assert.deepEqual(relayRate(20), { burst: 132, perSecond: 116 });
});
