/**
 * A cluster mode agreement whose state the test sets (the core's
 * `ModeAgreement` contract), and a probe that measures "each peer" with
 * results the test sets (the optional `peers()` of the probe contract).
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";
import type { Mode, ModeAgreement, ModeAgreementStats, NetworkSample, PeerMeasurement, Probe } from "../../mod.ts";

/** An agreement that holds what the test puts in `state`; `report()` records this node's report. */
export class FakeAgreement implements ModeAgreement {
  /** What `agreementStats()` returns (a copy). */
  state: ModeAgreementStats = {
    agreed: { mode: "datacenter", reason: "initial mode", index: 0, forced: false, summary: {} },
    reports: {},
    holds: {},
    engine: "raft",
    epoch: 0,
  };

  /** Creates the agreement of member `self`, timing its reports on `clock`. */
  constructor(readonly self: string, readonly clock: Clock) {}

  /** Records this member's report at the clock's time. */
  report(summary: NetworkSample): Promise<"committed"> {
    this.state.reports[this.self] = { atMs: this.clock.now(), summary: { ...summary } };
    return Promise.resolve("committed");
  }

  /** The state, copied. */
  agreementStats(): ModeAgreementStats {
    return structuredClone(this.state);
  }

  /** Sets `member`'s report. */
  setReport(member: string, atMs: number, summary: NetworkSample): void {
    this.state.reports[member] = { atMs, summary };
  }

  /** Sets the cluster's decision. */
  decide(mode: Mode, reason: string, forced = false): void {
    this.state.agreed = { mode, reason, index: this.state.agreed.index + 1, forced, summary: {} };
  }
}

/** A probe with a fixed sample and per-peer results set by the test. */
export class PeerProbe implements Probe {
  /** What `peers()` returns next (or throws, when an Error). */
  results: Record<string, unknown> | Error = {};

  /** Creates a probe named `name` answering `sample`. */
  constructor(readonly name: string, readonly sample: NetworkSample) {}

  /** Returns the sample. */
  measure(): Promise<NetworkSample> {
    return Promise.resolve({ ...this.sample });
  }

  /** The results the test set. */
  peers(): Record<string, PeerMeasurement> {
    if (this.results instanceof Error) throw this.results;
    return this.results as Record<string, PeerMeasurement>;
  }
}
