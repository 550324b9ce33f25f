/**
 * The cluster's mode decision as a deterministic state machine over a
 * replicated log. Members put their reports (their own medians, with the
 * time they measured) and operators' forced modes into the log of the engine
 * in charge; every replica applies the same entries in the same order to a
 * `ModeTally`, so every replica reaches the same decision at the same log
 * index, and that index is where the cluster switches.
 *
 * The decision reads the members' latest reports through
 * {@linkcode robustSummary} (per measure, the median once `2f + 1` members
 * reported), classifies it with the detector's thresholds and hysteresis
 * against the agreed mode, and honours a cooldown measured on the members'
 * own clocks (the median of their latest entry times, as robust as the
 * measures). So `f` members that lie cannot force a change and
 * `f` members that stay silent cannot block one; a forced mode needs `f + 1`
 * members asking for it, so one member alone cannot force either.
 *
 * A member's entries of one kind count newest first, by their time. One
 * stamped far ahead (a clock that jumped, then was set right) would leave
 * every later entry of that member "not newer" until its clock caught up,
 * so an entry of a member whose previous one is more than `maxReportAgeMs`
 * ahead of the other members' robust clock takes its place whatever its time.
 *
 * @example
 * ```ts
 * import { ModeTally } from "./mode_tally.ts";
 * import { resolveConfig } from "./config.ts";
 * const tally = new ModeTally({ members: ["a", "b", "c", "d"], faultTolerance: 1, thresholds: resolveConfig() });
 * const wan = { rttMs: 120, bandwidthMbps: 50, lossRatio: 0.02 };
 * tally.apply({ kind: "report", member: "a", atMs: 1_000, summary: wan }, 1);
 * tally.apply({ kind: "report", member: "b", atMs: 1_000, summary: wan }, 2);
 * tally.apply({ kind: "report", member: "c", atMs: 1_000, summary: wan }, 3)?.mode; // "internet", decided at index 3
 * ```
 *
 * @module
 */
import { ValidationError } from "../util/errors.ts";
import { isMode, type Mode } from "../contracts/mode.ts";
import { MEASURES, median, type NetworkSample, sampleIssues } from "../contracts/sample.ts";
import { classify, type Thresholds } from "./detector.ts";
import { membershipIssues, robustSummary } from "./robust_summary.ts";

/** A member's measurements, as it put them in the log. */
export interface ModeReportEntry {
  /** A report. */
  kind: "report";
  /** Who reports: the engine's authenticated identity of the proposer, never a field the proposer chose. */
  member: string;
  /** When it measured, on its own clock (milliseconds); later than its previous report. */
  atMs: number;
  /** Its medians. */
  summary: NetworkSample;
}

/** A member asking, for its operator, that the cluster be held in a mode (or released, with `mode: null`). */
export interface ModeForceEntry {
  /** A forced mode. */
  kind: "force";
  /** Who asks (the engine's authenticated identity). */
  member: string;
  /** When, on its own clock; later than its previous force. */
  atMs: number;
  /** The mode to hold, or null to release a hold. */
  mode: Mode | null;
  /** Why, for the record. */
  reason: string;
}

/** What a replica applies to its tally. */
export type ModeTallyEntry = ModeReportEntry | ModeForceEntry;

/** A mode the cluster agreed on. */
export interface AgreedMode {
  /** Starts at 0 and grows by one with each decision (a new mode, or a hold taken or released). */
  epoch: number;
  /** The mode. */
  mode: Mode;
  /** Why: the classification of the robust summary, or the forced reason. */
  reason: string;
  /** The robust summary it was decided from (empty for the initial and forced modes). */
  summary: NetworkSample;
  /** The log index of the entry that decided it (0 for the initial mode). */
  index: number;
  /** The members' robust time when it was decided. */
  atMs: number;
  /** True while an operator's hold is in force. */
  forced: boolean;
}

/** How the tally decides. */
export interface ModeTallyOptions {
  /** The current members; entries from anyone else are ignored (and counted). */
  members: readonly string[];
  /** `f`: members that may lie. */
  faultTolerance: number;
  /** The detector's thresholds and hysteresis. */
  thresholds: Thresholds;
  /** The mode before any decision (default `datacenter`). */
  initialMode?: Mode;
  /** Shortest time between two decided changes, on the members' robust clock (default 30,000 ms). */
  cooldownMs?: number;
  /** Reports older than this, behind the robust clock, no longer count (default 60,000 ms). */
  maxReportAgeMs?: number;
}

/** Why an entry changed nothing. */
export type IgnoredReason = "not-a-member" | "not-newer" | "invalid";

/** What the tally holds and has ignored. */
export interface ModeTallyStats {
  /** The agreed mode now. */
  agreed: AgreedMode;
  /** Each member's latest report. */
  reports: Record<string, { atMs: number; summary: NetworkSample }>;
  /** Members asking for a forced mode, and which. */
  forces: Record<string, Mode | null>;
  /** Entries ignored, by reason. */
  ignored: Record<IgnoredReason, number>;
}

interface MemberState {
  latestAtMs: number;
  forceAtMs?: number;
  report?: { atMs: number; summary: NetworkSample };
  force?: Mode | null;
}

const DEFAULT_COOLDOWN_MS = 30_000;
const DEFAULT_MAX_REPORT_AGE_MS = 60_000;

/** Decides the cluster's mode from the entries of a replicated log. Deterministic: same entries, same decisions. */
export class ModeTally {
  readonly #options: Required<ModeTallyOptions>;
  readonly #members: Map<string, MemberState>;
  readonly #ignored: Record<IgnoredReason, number> = { "not-a-member": 0, "not-newer": 0, invalid: 0 };
  #agreed: AgreedMode;

  /** Starts in `initialMode`, epoch 0. Throws a `ValidationError` naming a bad option. */
  constructor(options: ModeTallyOptions) {
    const issues = membershipIssues(options);
    for (const field of ["cooldownMs", "maxReportAgeMs"] as const) {
      const value = options[field];
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        issues.push({ path: field, message: `must be a non-negative number of milliseconds, got ${value}` });
      }
    }
    if (options.initialMode !== undefined && !isMode(options.initialMode)) {
      issues.push({ path: "initialMode", message: `must be a mode, got ${JSON.stringify(options.initialMode)}` });
    }
    if (issues.length > 0) throw new ValidationError("INVALID_ARGUMENT", "ModeTally options", issues);
    this.#options = {
      initialMode: "datacenter",
      cooldownMs: DEFAULT_COOLDOWN_MS,
      maxReportAgeMs: DEFAULT_MAX_REPORT_AGE_MS,
      ...options,
      members: [...options.members],
    };
    this.#members = new Map(options.members.map((member) => [member, { latestAtMs: -Infinity }]));
    this.#agreed = {
      epoch: 0,
      mode: this.#options.initialMode,
      reason: "initial mode",
      summary: {},
      index: 0,
      atMs: -Infinity,
      forced: false,
    };
  }

  /** The agreed mode now. */
  get agreed(): AgreedMode {
    return { ...this.#agreed, summary: { ...this.#agreed.summary } };
  }

  /**
   * Applies the log entry at `index`. Returns the new agreed mode when this
   * entry changed it, undefined otherwise (also for ignored entries, which
   * are counted in `stats().ignored`).
   */
  apply(entry: ModeTallyEntry, index: number): AgreedMode | undefined {
    const state = this.#members.get(entry.member);
    if (!state) return this.#ignore("not-a-member");
    if (!Number.isFinite(entry.atMs)) return this.#ignore("invalid");
    // Newer than the member's previous entry of the same kind: a member's report and force may reach the log in
    // either order (proposed concurrently, or relayed), and neither should cost the other.
    const previousAtMs = entry.kind === "report" ? state.report?.atMs : state.forceAtMs;
    if (entry.atMs <= (previousAtMs ?? -Infinity) && !this.#aheadOfOthers(entry.member, previousAtMs!)) {
      return this.#ignore("not-newer");
    }
    if (entry.kind === "report") {
      if (sampleIssues(entry.summary).length > 0) return this.#ignore("invalid");
      state.report = { atMs: entry.atMs, summary: pickMeasures(entry.summary) };
    } else {
      if (entry.mode !== null && !isMode(entry.mode)) return this.#ignore("invalid");
      state.force = entry.mode;
      state.forceAtMs = entry.atMs;
    }
    state.latestAtMs = Math.max(state.report?.atMs ?? -Infinity, state.forceAtMs ?? -Infinity);
    return this.#decide(index, entry.kind === "force" ? entry.reason : undefined);
  }

  /** What the tally holds: the agreed mode, every member's latest report and force, and what it ignored. */
  stats(): ModeTallyStats {
    const reports: ModeTallyStats["reports"] = {};
    const forces: ModeTallyStats["forces"] = {};
    for (const [member, state] of this.#members) {
      if (state.report) reports[member] = { atMs: state.report.atMs, summary: { ...state.report.summary } };
      if (state.force !== undefined) forces[member] = state.force;
    }
    return { agreed: this.agreed, reports, forces, ignored: { ...this.#ignored } };
  }

  /**
   * The time (on `member`'s clock) of its latest applied entry of `kind`,
   * undefined if none: an entry made at `atMs` is in the tally (or superseded
   * by a newer one) once this is at least `atMs`.
   */
  appliedAt(member: string, kind: ModeTallyEntry["kind"]): number | undefined {
    const state = this.#members.get(member);
    return kind === "report" ? state?.report?.atMs : state?.forceAtMs;
  }

  /** The tally's whole state as JSON bytes, for the engine's snapshot. */
  snapshot(): Uint8Array {
    const members = [...this.#members].map(([member, state]) => ({ member, ...state }));
    return new TextEncoder().encode(JSON.stringify({ agreed: this.#agreed, members, ignored: this.#ignored }));
  }

  /** Replaces the state with a snapshot of a tally with the same members. */
  restore(snapshot: Uint8Array): void {
    // JSON has no -Infinity: a member that never wrote, and the initial mode's time, come back as null.
    const parsed = JSON.parse(new TextDecoder().decode(snapshot));
    for (const saved of parsed.members as (MemberState & { member: string })[]) {
      const state = this.#members.get(saved.member);
      if (!state) continue;
      state.latestAtMs = saved.latestAtMs ?? -Infinity;
      state.report = saved.report;
      state.force = saved.force;
      state.forceAtMs = saved.forceAtMs ?? undefined;
    }
    this.#agreed = { ...parsed.agreed, atMs: parsed.agreed.atMs ?? -Infinity };
    Object.assign(this.#ignored, parsed.ignored);
  }

  #ignore(reason: IgnoredReason): undefined {
    this.#ignored[reason]++;
    return undefined;
  }

  /**
   * The members' robust clock: the median of their latest entry times. It
   * decides nothing alone (a decision needs 2f + 1 fresh reports), so the
   * times of fewer members are good enough until more have written.
   */
  #robustNow(): number | undefined {
    const times = [...this.#members.values()].map((state) => state.latestAtMs).filter(Number.isFinite);
    return times.length > 0 ? median(times) : undefined;
  }

  /** True when `atMs`, a time of `member`'s, is more than `maxReportAgeMs` ahead of the other members' robust clock. */
  #aheadOfOthers(member: string, atMs: number): boolean {
    const others = [...this.#members].filter(([id]) => id !== member).map(([, state]) => state.latestAtMs);
    const times = others.filter(Number.isFinite);
    return times.length > 0 && atMs > median(times) + this.#options.maxReportAgeMs;
  }

  #decide(index: number, forceReason: string | undefined): AgreedMode | undefined {
    const now = this.#robustNow()!; // the entry just applied has a time
    const hold = this.#forcedMode();
    if (hold !== undefined) {
      return this.#change(
        { mode: hold, reason: `forced: ${forceReason ?? "held by members"}`, summary: {} },
        index,
        now,
        true,
      );
    }
    const fresh = new Map<string, NetworkSample>();
    for (const [member, state] of this.#members) {
      if (state.report && state.report.atMs >= now - this.#options.maxReportAgeMs) {
        fresh.set(member, state.report.summary);
      }
    }
    const { sample } = robustSummary(fresh, {
      members: this.#options.members,
      faultTolerance: this.#options.faultTolerance,
    });
    if (MEASURES.every((measure) => sample[measure] === undefined)) return undefined;
    const decision = classify(sample, this.#agreed.mode, this.#options.thresholds);
    const released = this.#agreed.forced;
    if (decision.mode === this.#agreed.mode && !released) return undefined;
    if (!released && now - this.#agreed.atMs < this.#options.cooldownMs) return undefined;
    return this.#change({ mode: decision.mode, reason: decision.reason, summary: sample }, index, now, false);
  }

  /** The mode f + 1 members hold the cluster in, if they agree on one; null counts as a release. */
  #forcedMode(): Mode | undefined {
    const counts = new Map<Mode, number>();
    for (const state of this.#members.values()) {
      if (state.force) counts.set(state.force, (counts.get(state.force) ?? 0) + 1);
    }
    for (const [mode, count] of counts) if (count >= this.#options.faultTolerance + 1) return mode;
    return undefined;
  }

  #change(
    decision: { mode: Mode; reason: string; summary: NetworkSample },
    index: number,
    atMs: number,
    forced: boolean,
  ): AgreedMode | undefined {
    if (decision.mode === this.#agreed.mode && forced === this.#agreed.forced) return undefined;
    this.#agreed = { ...decision, epoch: this.#agreed.epoch + 1, index, atMs, forced };
    return this.agreed;
  }
}

function pickMeasures(sample: NetworkSample): NetworkSample {
  const picked: NetworkSample = {};
  for (const measure of MEASURES) if (sample[measure] !== undefined) picked[measure] = sample[measure];
  return picked;
}
