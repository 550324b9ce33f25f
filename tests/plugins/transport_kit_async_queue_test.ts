import assert from "node:assert/strict";
import { AsyncQueue } from "../../plugins/transport-kit/async_queue.ts";

Deno.test("AsyncQueue: items in order, end after them, and a later loop continues", async () => {
  const queue = new AsyncQueue<number>();
  const taken: number[] = [];
  queue.onTake = (n) => taken.push(n);
  queue.push(1);
  queue.push(2);
  queue.push(3);
  for await (const n of queue) if (n === 2) break;
  queue.end();
  queue.push(4); // ignored after the end
  const rest: number[] = [];
  for await (const n of queue) rest.push(n);
  assert.deepEqual(rest, [3]);
  assert.deepEqual(taken, [1, 2, 3]);
});

Deno.test("AsyncQueue: a waiting consumer gets pushes, and failure rejects it", async () => {
  const queue = new AsyncQueue<string>();
  const iterator = queue[Symbol.asyncIterator]();
  const first = iterator.next();
  queue.push("a");
  assert.deepEqual(await first, { value: "a", done: false });
  const second = iterator.next();
  queue.fail(new Error("broken"));
  await assert.rejects(second, /broken/);
  await assert.rejects(iterator.next(), /broken/);
});
