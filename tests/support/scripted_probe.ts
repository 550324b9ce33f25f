/**
 * Test probes whose answers are set by the test.
 *
 * @module
 */
import type { NetworkSample, Probe } from "../../mod.ts";

/** A probe that returns whatever `next` is set to; `calls` counts measurements. */
export class ScriptedProbe implements Probe {
  /** The sample the next measurement returns. */
  next: NetworkSample;
  /** When set, the next measurement throws this. */
  failWith: Error | undefined;
  /** When true, the next measurement never resolves until aborted. */
  hang = false;
  /** Measurements taken. */
  calls = 0;

  /** Creates a probe named `name` answering `initial`. */
  constructor(readonly name: string, initial: NetworkSample) {
    this.next = initial;
  }

  /** Returns `next`, throws `failWith`, or hangs until `signal` aborts. */
  measure(signal?: AbortSignal): Promise<NetworkSample> {
    this.calls++;
    if (this.failWith) return Promise.reject(this.failWith);
    if (this.hang) {
      return new Promise((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
    }
    return Promise.resolve({ ...this.next });
  }
}

/** Typical samples. */
export const LINKS = {
  datacenter: { rttMs: 0.5, bandwidthMbps: 10_000, lossRatio: 0 },
  internet: { rttMs: 120, bandwidthMbps: 100, lossRatio: 0.02 },
  hybrid: { rttMs: 25, bandwidthMbps: 5_000, lossRatio: 0 },
} as const satisfies Record<string, NetworkSample>;
