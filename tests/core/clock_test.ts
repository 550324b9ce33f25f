import assert from "node:assert/strict";
import { ManualClock, sleep, SystemClock } from "../../mod.ts";
import { runWithTimeout } from "../../core/control/public.ts";

Deno.test("ManualClock fires timers in due order, ties in insertion order", async () => {
  const clock = new ManualClock(1_000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push("b@20"), 20);
  clock.setTimeout(() => fired.push("a@10"), 10);
  clock.setTimeout(() => fired.push("c@20"), 20);
  await clock.advance(15);
  assert.deepEqual(fired, ["a@10"]);
  assert.equal(clock.now(), 1_015);
  await clock.advance(5);
  assert.deepEqual(fired, ["a@10", "b@20", "c@20"]);
});

Deno.test("ManualClock fires timers scheduled by timers within the same advance", async () => {
  const clock = new ManualClock();
  const at: number[] = [];
  const tick = () => {
    at.push(clock.now());
    if (at.length < 5) clock.setTimeout(tick, 100);
  };
  clock.setTimeout(tick, 100);
  await clock.advance(1_000);
  assert.deepEqual(at, [100, 200, 300, 400, 500]);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("ManualClock lets the async work a timer starts run before the next timer", async () => {
  const clock = new ManualClock();
  const log: string[] = [];
  clock.setTimeout(async () => {
    await Promise.resolve();
    await Promise.resolve();
    log.push("work done");
  }, 10);
  clock.setTimeout(() => log.push("second timer"), 20);
  await clock.advance(20);
  assert.deepEqual(log, ["work done", "second timer"]);
});

Deno.test("ManualClock.clearTimeout cancels and advance rejects bad input", async () => {
  const clock = new ManualClock();
  let fired = false;
  const id = clock.setTimeout(() => fired = true, 5);
  clock.clearTimeout(id);
  await clock.advance(10);
  assert.equal(fired, false);
  await assert.rejects(() => clock.advance(-1), { name: "SwitchyardError", code: "INVALID_ARGUMENT" });
  await assert.rejects(() => clock.advance(Number.NaN), { name: "SwitchyardError", code: "INVALID_ARGUMENT" });
});

Deno.test("ManualClock rethrows timer errors after advancing", async () => {
  const clock = new ManualClock();
  let later = false;
  clock.setTimeout(() => {
    throw new Error("boom");
  }, 1);
  clock.setTimeout(() => later = true, 2);
  await assert.rejects(() => clock.advance(5), /boom/);
  assert.equal(later, true);
  assert.equal(clock.now(), 5);
});

Deno.test("sleep resolves on time and rejects on abort", async () => {
  const clock = new ManualClock();
  let done = false;
  const pending = sleep(clock, 100).then(() => done = true);
  await clock.advance(99);
  assert.equal(done, false);
  await clock.advance(1);
  await pending;
  assert.equal(done, true);

  const controller = new AbortController();
  const aborted = sleep(clock, 100, controller.signal);
  controller.abort(new Error("stop"));
  await assert.rejects(aborted, /stop/);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("runWithTimeout returns the value, reports a timeout, and honours the parent signal", async () => {
  const clock = new ManualClock();
  assert.deepEqual(await runWithTimeout(clock, 10, () => 7), { timedOut: false, value: 7 });

  let sawAbort = false;
  const hanging = runWithTimeout(
    clock,
    50,
    (signal) => new Promise<never>(() => signal.addEventListener("abort", () => sawAbort = true)),
  );
  await clock.advance(50);
  assert.deepEqual(await hanging, { timedOut: true });
  assert.equal(sawAbort, true);

  await assert.rejects(runWithTimeout(clock, 10, () => Promise.reject(new Error("inner"))), /inner/);

  const parent = new AbortController();
  const cancelled = runWithTimeout(clock, 1_000, () => new Promise<never>(() => {}), parent.signal);
  parent.abort(new Error("parent gone"));
  await assert.rejects(cancelled, /parent gone/);
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("SystemClock reads wall time and its timers can be cancelled", () => {
  const clock = new SystemClock();
  const before = Date.now();
  assert.ok(Math.abs(clock.now() - before) < 1_000);
  const id = clock.setTimeout(() => {
    throw new Error("must not fire");
  }, 60_000);
  clock.clearTimeout(id);
});
