/**
 * The probe compliance suite: a probe has a name, returns valid samples
 * (finite, non-negative, loss at most 1) with at least one measure, measures
 * repeatedly, and gives up promptly when its signal aborts.
 *
 * @module
 */
import { SwitchyardError } from "../core/util/errors.ts";
import assert from "node:assert/strict";
import type { Probe } from "../core/contracts/probe.ts";
import { MEASURES, sampleIssues } from "../core/contracts/sample.ts";
import { closing, type ComplianceCase, withCleanup } from "./case.ts";

/** Options of {@linkcode probeCompliance}. */
export interface ProbeComplianceOptions {
  /** How long an aborted measurement may take to settle (default 2 s). */
  abortSettleMs?: number;
}

async function validSample(probe: Probe, what: string): Promise<void> {
  const sample = await probe.measure(new AbortController().signal);
  assert.deepEqual(sampleIssues(sample), [], `${what}: invalid sample ${JSON.stringify(sample)}`);
  assert.ok(MEASURES.some((measure) => sample[measure] !== undefined), `${what}: no measure in the sample`);
}

/** The cases every probe must pass. `make` creates the probe under test. */
export function probeCompliance(
  makeProbe: () => Probe | Promise<Probe>,
  options: ProbeComplianceOptions = {},
): ComplianceCase[] {
  const { make, closeAll } = closing(makeProbe);
  const settleMs = options.abortSettleMs ?? 2_000;
  return withCleanup([
    {
      name: "has a non-empty name",
      async run() {
        const probe = await make();
        assert.equal(typeof probe.name, "string");
        assert.ok(probe.name.trim().length > 0);
      },
    },
    {
      name: "returns valid samples, repeatedly",
      async run() {
        const probe = await make();
        for (let i = 0; i < 3; i++) await validSample(probe, `measurement ${i + 1}`);
      },
    },
    {
      name: "settles promptly when its signal is already aborted",
      async run() {
        const probe = await make();
        const controller = new AbortController();
        controller.abort(new SwitchyardError("PROBE_FAILED", "the compliance suite aborted the measurement"));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const bound = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), settleMs));
        const settled = probe.measure(controller.signal).then(() => "settled", () => "settled");
        const outcome = await Promise.race([settled, bound]);
        clearTimeout(timer);
        assert.equal(outcome, "settled", `measure(abortedSignal) did not settle within ${settleMs} ms`);
      },
    },
  ], closeAll);
}
