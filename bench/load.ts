/**
 * A closed-loop load generator: `clients` concurrent loops, each sending one
 * request after the previous answer, for a fixed time after a warm-up.
 *
 * @module
 */

/** Throughput and latency of one load run. */
export interface LoadResult {
  /** Successful requests per second. */
  opsPerSecond: number;
  /** Median latency. */
  p50Ms: number;
  /** 99th-percentile latency. */
  p99Ms: number;
  /** Failed requests. */
  errors: number;
}

/** Runs `request(client, sequence)` (true on success) in `clients` loops. */
export async function closedLoop(
  clients: number,
  durationMs: number,
  request: (client: number, sequence: number) => Promise<boolean>,
  warmupMs = 500,
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const startMs = performance.now();
  const measureFromMs = startMs + warmupMs;
  const endMs = measureFromMs + durationMs;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let sequence = 0; performance.now() < endMs; sequence++) {
      const calledMs = performance.now();
      const ok = await request(client, sequence).catch(() => false);
      const doneMs = performance.now();
      if (calledMs < measureFromMs) continue;
      if (ok) latencies.push(doneMs - calledMs);
      else errors++;
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? NaN;
  return { opsPerSecond: latencies.length / (durationMs / 1000), p50Ms: at(0.5), p99Ms: at(0.99), errors };
}
