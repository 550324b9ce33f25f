// The zstd worker pool: close() ends every worker and the pool takes no more work afterwards (what lets a
// process exit); a worker that crashes fails its own jobs with the reason and the next job gets a fresh one.
import assert from "node:assert/strict";
import { SwitchyardError } from "../../core/util/errors.ts";
import { ZstdWorkerPool } from "../../plugins/compress-zstd/pool.ts";

const CRASHING_WORKER = new URL("../support/crashing_worker.ts", import.meta.url);
const failed = (pattern: RegExp) => (error: unknown) =>
  error instanceof SwitchyardError && error.code === "ZSTD_WORKER_FAILED" && pattern.test(error.message);

Deno.test("zstd pool: close() ends the workers; later work is refused with ZSTD_WORKER_FAILED", async () => {
  const pool = new ZstdWorkerPool(2);
  const data = new TextEncoder().encode("abc".repeat(1000));
  const frame = await pool.compress(data, 19, "wasm");
  assert.ok(frame.length > 0 && frame.length < data.length);
  assert.equal(pool.workers, 1);
  await pool.close();
  assert.equal(pool.workers, 0);
  await assert.rejects(pool.compress(data, 19, "wasm"), failed(/closed/));
  assert.equal(pool.workers, 0, "a refused job starts no worker");
});

Deno.test("zstd pool: a crashed worker fails its job with the reason; the next job runs on a fresh worker", async () => {
  const pool = new ZstdWorkerPool(1, CRASHING_WORKER);
  try {
    await assert.rejects(pool.compress(new Uint8Array([1]), 1, "wasm"), failed(/crashed: [\s\S]*asked to crash/));
    assert.equal(pool.workers, 0, "the crashed worker is gone");
    assert.deepEqual(await pool.compress(new Uint8Array([2, 3]), 1, "wasm"), new Uint8Array([2, 3]));
    assert.equal(pool.workers, 1);
  } finally {
    await pool.close();
  }
});
