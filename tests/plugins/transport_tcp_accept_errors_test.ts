// The accept-failure policy on a ManualClock: which failures back off, how far, and what is counted and logged.
import assert from "node:assert/strict";
import { ManualClock } from "../../core/util/clock.ts";
import type { Logger } from "../../core/util/logger.ts";
import {
  ACCEPT_BACKOFF_INITIAL_MS,
  ACCEPT_BACKOFF_MAX_MS,
  acceptErrorCode,
  acceptErrorHandler,
} from "../../plugins/transport-tcp/accept_errors.ts";

const failure = (code: string, message = `${code} (os error 0)`) => Object.assign(new Error(message), { code });

function setup() {
  const clock = new ManualClock();
  const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => warnings.push({ message, fields }),
    error() {},
  };
  const counts = { acceptErrors: 0, acceptErrorsExhausted: 0 };
  const stop = new AbortController();
  const handler = acceptErrorHandler({ clock, logger, address: "127.0.0.1:9", counts, signal: stop.signal });
  return { clock, warnings, counts, stop, handler };
}

/** How long (manual) time `wait` took to resolve, stepping 1 ms at a time. */
async function waitedMs(clock: ManualClock, wait: Promise<void>): Promise<number> {
  let done = false;
  void wait.then(() => done = true);
  const start = clock.now();
  await clock.advance(0);
  while (!done) {
    if (clock.now() - start > 10 * ACCEPT_BACKOFF_MAX_MS) assert.fail("the backoff never ended");
    await clock.advance(1);
  }
  return clock.now() - start;
}

Deno.test("accept errors: a connection reset before the accept is counted and accepting goes on at once", async () => {
  const { clock, counts, handler, warnings } = setup();
  for (let i = 0; i < 5; i++) {
    assert.equal(await waitedMs(clock, handler.acceptFailed(failure("ENOTCONN"))), 0);
  }
  assert.equal(counts.acceptErrors, 5);
  assert.equal(counts.acceptErrorsExhausted, 0);
  // Logged the 1st, 2nd and 4th time: a flood cannot flood the log.
  assert.deepEqual(warnings.map((warning) => warning.fields?.timesWithThisCode), [1, 2, 4]);
  assert.equal(warnings[0].fields?.code, "ENOTCONN");
});

Deno.test("accept errors: EMFILE backs off, doubling to the maximum, and an accepted connection starts it over", async () => {
  const { clock, counts, handler, warnings } = setup();
  const waits: number[] = [];
  for (let i = 0; i < 9; i++) waits.push(await waitedMs(clock, handler.acceptFailed(failure("EMFILE"))));
  assert.deepEqual(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.equal(waits[0], ACCEPT_BACKOFF_INITIAL_MS);
  assert.equal(counts.acceptErrors, 9);
  assert.equal(counts.acceptErrorsExhausted, 9);
  assert.match(warnings[0].message, /out of file descriptors/);
  handler.acceptSucceeded();
  assert.equal(await waitedMs(clock, handler.acceptFailed(failure("EMFILE"))), ACCEPT_BACKOFF_INITIAL_MS);
});

Deno.test("accept errors: an unknown failure backs off too (a broken listener never spins)", async () => {
  const { clock, handler } = setup();
  assert.equal(await waitedMs(clock, handler.acceptFailed(new Error("something else"))), 10);
});

Deno.test("accept errors: closing the listener ends a backoff at once", async () => {
  const { clock, handler, stop } = setup();
  for (let i = 0; i < 8; i++) await waitedMs(clock, handler.acceptFailed(failure("EMFILE")));
  const waiting = handler.acceptFailed(failure("EMFILE"));
  await clock.advance(5);
  stop.abort();
  await waiting;
  assert.equal(clock.pendingTimers, 0);
});

Deno.test("accept errors: the code is read from the error, or from the os error number in its message", () => {
  assert.equal(acceptErrorCode(failure("EMFILE")), "EMFILE");
  assert.equal(acceptErrorCode(new Error("Too many open files (os error 24)")), "EMFILE");
  assert.equal(acceptErrorCode(new Error("Transport endpoint is not connected (os error 107)")), "ENOTCONN");
  assert.equal(acceptErrorCode(Object.assign(new Error("x"), { name: "BadResource" })), "BadResource");
});
