/**
 * The orchestrator decides which mode and variant to serve and carries out
 * switches: one at a time, gracefully, with rollback, cooldown, forced holds,
 * history and the flapping alarm.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { ModeAwareAdapter } from "./adapter.ts";
import type { Clock } from "../util/clock.ts";
import { type Selection, type Variant, variantOf } from "../contracts/component.ts";
import type { HybridConfig } from "./config.ts";
import type { Decision } from "./detector.ts";
import { SwitchyardError, toError, ValidationError } from "../util/errors.ts";
import type { TypedEmitter, Unsubscribe } from "../util/events.ts";
import type { FeatureFlags } from "./flags.ts";
import { History, type SwitchOrigin, type SwitchRecord } from "./history.ts";
import type { Logger } from "../util/logger.ts";
import type { ManagerEvents } from "./manager_events.ts";
import { isMode, Mode, MODES, type PerMode, perMode } from "../contracts/mode.ts";
import { runWithTimeout } from "../util/timeout.ts";
import type { ModeAgreement } from "../contracts/mode_agreement.ts";

/** What a mode-change callback receives. */
export interface ModeChangeEvent {
  /** Mode before. */
  from: Mode;
  /** Mode after (lookups already point at its implementations). */
  to: Mode;
  /** Variant before. */
  fromVariant: Variant;
  /** Variant after. */
  toVariant: Variant;
  /** Why. */
  reason: string;
  /** What asked for it. */
  origin: SwitchOrigin;
  /** When (clock ms). */
  atMs: number;
}

/**
 * Called during a switch, after the incoming implementations are active and
 * before the outgoing ones drain. Throwing (or rejecting) rolls the switch back.
 */
export type ModeChangeCallback = (event: ModeChangeEvent) => void | Promise<void>;

/** How a switch request ended. */
export interface SwitchOutcome {
  /**
   * `switched`: done; `failed`: rolled back; `unchanged`: already there;
   * `cooldown`: an automatic switch must wait; `refused`: not allowed now;
   * `deferred`: asked from inside a switch, runs right after it.
   */
  status: "switched" | "failed" | "unchanged" | "cooldown" | "refused" | "deferred";
  /** The mode served after the request. */
  mode: Mode;
  /** Why, in words. */
  reason: string;
  /** The history record of an attempted switch. */
  record?: SwitchRecord;
}

/** An operator's hold on a mode. */
export interface ForcedHold {
  /** The held mode. */
  mode: Mode;
  /** The operator's reason. */
  reason: string;
  /** Since when (clock ms). */
  sinceMs: number;
  /** Until when (clock ms); absent: until `resumeAutoDetection()`. */
  untilMs?: number;
}

/** The orchestrator's part of the manager's stats. */
export interface OrchestratorStats {
  /** The mode served now. */
  currentMode: Mode;
  /** The variant served now. */
  variant: Variant;
  /** Successful switches that changed the mode. */
  modeChanges: number;
  /** Successful switches (mode or variant). */
  successfulSwitches: number;
  /** Switches rolled back. */
  failedSwitches: number;
  /** Switches refused because the target mode cannot be served. */
  refusedSwitches: number;
  /** Modes that cannot be served (a slot plugin failed), with why. */
  unavailableModes: Partial<Record<Mode, string>>;
  /** When the mode last changed (clock ms), or null. */
  lastModeChange: number | null;
  /** Why the mode last changed, or null. */
  lastModeChangeReason: string | null;
  /** Time spent in each mode since initialization, including the current stretch. */
  timeInModeMs: PerMode<number>;
  /** The most recent switch records, oldest first. */
  history: SwitchRecord[];
  /** Whether the flapping alarm is raised. */
  flapping: boolean;
  /** The operator's hold, or null. */
  forced: ForcedHold | null;
  /** Drains cut at `drainTimeoutMs`, in total. */
  drainTimeouts: number;
  /** Automatic switches held back by the cooldown, in total. */
  cooldownBlocks: number;
  /** Time until automatic switching is allowed again (0 when it is). */
  cooldownRemainingMs: number;
  /** True while a switch is in progress. */
  switching: boolean;
}

/** What the orchestrator needs. */
export interface OrchestratorOptions {
  /** The validated config. */
  config: HybridConfig;
  /** Time. */
  clock: Clock;
  /** The component registry it switches. */
  adapter: ModeAwareAdapter;
  /** Run-time flags. */
  flags: FeatureFlags;
  /** This node's id, for the rollout bucket. */
  nodeId: string;
  /** Where it logs. */
  logger: Logger;
  /** Where it emits events. */
  events: TypedEmitter<ManagerEvents>;
  /** Upper bound of an `activate()` or a mode-change callback. */
  activateTimeoutMs?: number;
  /** Modes that cannot be served, with why; never entered. */
  unavailableModes?: Partial<Record<Mode, string>>;
  /**
   * The cluster's mode agreement, when a component carries one (looked up at
   * each switch): a switch that changes the mode reports the medians to it
   * and waits up to `config.agreementTimeoutMs` for the cluster's decision.
   */
  agreement?: () => ModeAgreement | undefined;
}

/**
 * Serializes switches and decides targets. Use it directly to compose your
 * own manager; {@linkcode HybridManager} wires it with detection.
 *
 * @example
 * ```ts
 * import { FeatureFlags, ManualClock, resolveConfig, silentLogger, TypedEmitter } from "@switchyard/hybrid";
 * import { HybridOrchestrator, ModeAwareAdapter } from "@switchyard/hybrid/control";
 * const clock = new ManualClock();
 * const adapter = new ModeAwareAdapter(clock);
 * const orchestrator = new HybridOrchestrator({
 *   config: resolveConfig(), clock, adapter, flags: new FeatureFlags(), nodeId: "n1",
 *   logger: silentLogger, events: new TypedEmitter(),
 * });
 * await orchestrator.force("internet", "maintenance");
 * orchestrator.mode; // "internet"
 * ```
 */
export class HybridOrchestrator {
  readonly #options: OrchestratorOptions;
  readonly #callbacks = new Set<ModeChangeCallback>();
  readonly #history: History<SwitchRecord>;
  readonly #insideSwitch = new AsyncLocalStorage<{ open: boolean }>();
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #selection: Selection;
  #forced: ForcedHold | null = null;
  #nextRecordId = 1;
  #lastAttemptMs: number | undefined;
  #enteredModeAtMs: number;
  #timeInModeMs = perMode(() => 0);
  #modeChangeTimes: number[] = [];
  #flapping = false;
  #counters = {
    modeChanges: 0,
    successfulSwitches: 0,
    failedSwitches: 0,
    refusedSwitches: 0,
    drainTimeouts: 0,
    cooldownBlocks: 0,
  };
  readonly #unavailable: Partial<Record<Mode, string>>;
  #lastRefusal: string | undefined;
  #lastModeChange: { atMs: number; reason: string } | null = null;

  /**
   * Creates an orchestrator serving `config.initialMode`, or the first mode
   * that can be served when that one cannot. Throws `MODE_UNAVAILABLE` when no
   * mode can be served.
   */
  constructor(options: OrchestratorOptions) {
    this.#options = options;
    this.#history = new History(options.config.historyLimit);
    this.#unavailable = { ...options.unavailableModes };
    const { flags, nodeId, config } = options;
    const hybridOn = flags.values.enableHybridMode;
    const wanted = hybridOn ? config.initialMode : Mode.Datacenter;
    const preference = [wanted, Mode.Hybrid, Mode.Datacenter, Mode.Internet];
    const initial = preference.find((mode) => this.#unavailable[mode] === undefined);
    if (initial === undefined) {
      const reasons = MODES.map((mode) => `${mode}: ${this.#unavailable[mode]}`).join("; ");
      throw new SwitchyardError("MODE_UNAVAILABLE", `no mode can be served: ${reasons}`);
    }
    if (initial !== wanted) {
      options.logger.warn(`initial mode ${wanted} is unavailable; starting in ${initial}`, {
        reason: this.#unavailable[wanted],
      });
    }
    this.#selection = { mode: initial, useV3: hybridOn && flags.usesV3(nodeId) };
    this.#enteredModeAtMs = options.clock.now();
  }

  /** The mode served now. */
  get mode(): Mode {
    return this.#selection.mode;
  }

  /** The mode and variant served now. */
  get selection(): Readonly<Selection> {
    return { ...this.#selection };
  }

  /** Restarts time-in-mode accounting (called when the manager initializes). */
  resetClockAccounting(): void {
    this.#enteredModeAtMs = this.#options.clock.now();
    this.#timeInModeMs = perMode(() => 0);
  }

  /** Registers a callback run during every switch; returns a function that removes it. */
  onModeChange(callback: ModeChangeCallback): Unsubscribe {
    if (typeof callback !== "function") {
      throw new ValidationError("INVALID_ARGUMENT", "onModeChange", [
        { path: "callback", message: "must be a function" },
      ]);
    }
    this.#callbacks.add(callback);
    return () => void this.#callbacks.delete(callback);
  }

  /**
   * Applies the next decision: the detector's (may be `undefined` when nothing
   * was measured), within the rules of flags, holds and cooldown.
   */
  reconcile(decision: Decision | undefined): Promise<SwitchOutcome> {
    return this.#exclusive(() => {
      this.#expireHold();
      this.#updateFlapping();
      const target = this.#target(decision);
      const changesMode = target.selection.mode !== this.#selection.mode;
      const changesVariant = target.selection.useV3 !== this.#selection.useV3;
      if (!changesMode && !changesVariant) return this.#outcome("unchanged", target.reason);
      if (changesMode && this.#unavailable[target.selection.mode] !== undefined) {
        return this.#refuse(target.selection, target.reason, target.origin);
      }
      if (target.origin === "auto" && changesMode) {
        const remainingMs = this.#cooldownRemainingMs();
        if (remainingMs > 0) {
          this.#counters.cooldownBlocks++;
          this.#options.events.emit("cooldown", {
            atMs: this.#options.clock.now(),
            wanted: target.selection.mode,
            remainingMs,
          });
          return this.#outcome("cooldown", `cooldown: ${remainingMs} ms left; wanted ${target.reason}`);
        }
      }
      return this.#switchTo(target.selection, target.reason, target.origin, decision?.sample);
    });
  }

  /**
   * Forces `mode` now, ignoring the cooldown, and holds it until
   * {@linkcode HybridOrchestrator.resume} (or for `holdMs`). Refused while
   * `enableHybridMode` is off, except for datacenter.
   */
  force(mode: Mode, reason = "forced by operator", options: { holdMs?: number } = {}): Promise<SwitchOutcome> {
    const issues = [];
    if (!isMode(mode)) {
      issues.push({ path: "mode", message: `must be one of ${MODES.join(", ")}, got ${String(mode)}` });
    }
    if (typeof reason !== "string" || reason.trim() === "") {
      issues.push({ path: "reason", message: "must be a non-empty string" });
    }
    const holdMs = options?.holdMs;
    if (holdMs !== undefined && !(typeof holdMs === "number" && Number.isFinite(holdMs) && holdMs > 0)) {
      issues.push({ path: "holdMs", message: "must be a number greater than 0" });
    }
    if (issues.length > 0) throw new ValidationError("INVALID_ARGUMENT", "forceMode", issues);
    const flags = this.#options.flags.values;
    if (!flags.enableHybridMode && mode !== Mode.Datacenter) {
      return Promise.resolve(this.#outcome("refused", "flag enableHybridMode is off: only datacenter is allowed"));
    }
    if (this.#unavailable[mode] !== undefined) {
      const selection = { mode, useV3: this.#selection.useV3 };
      return this.#exclusive(() => this.#refuse(selection, reason, "forced"));
    }
    const nowMs = this.#options.clock.now();
    this.#forced = { mode, reason, sinceMs: nowMs, ...(holdMs !== undefined ? { untilMs: nowMs + holdMs } : {}) };
    this.#askCluster(mode, reason);
    return this.#exclusive(async () => {
      const selection = { mode, useV3: flags.enableHybridMode && this.#options.flags.usesV3(this.#options.nodeId) };
      const outcome = await this.#switchTo(selection, reason, "forced");
      if (outcome.status === "failed" && this.#forced?.mode === mode) {
        this.#forced = null;
        this.#askCluster(null, "hold dropped: the switch failed");
      }
      if (outcome.status === "unchanged") {
        // A detection round queued before this force found the hold when its turn came and made the switch: it is
        // this force's switch.
        const record = this.#history.list().at(-1);
        if (record?.origin === "forced" && record.to === mode && record.atMs >= nowMs && record.outcome === "success") {
          return { status: "switched", mode, reason: record.reason, record };
        }
      }
      return outcome;
    });
  }

  /** Drops the operator's hold; the next decision is automatic again. */
  resume(): void {
    if (this.#forced) this.#options.logger.info("forced hold released", { mode: this.#forced.mode });
    // Always, even without a hold here: the cluster may hold one this node asked for before a failed switch or a
    // restart (a release is idempotent).
    this.#askCluster(null, "hold released");
    this.#forced = null;
  }

  /**
   * Puts the operator's hold (or its release) before the cluster, when the
   * node has an agreement that takes holds; its own switch does not wait for
   * it (the agreement step does, for the decision).
   */
  #askCluster(mode: Mode | null, reason: string): void {
    const agreement = this.#options.agreement?.();
    agreement?.force?.(mode, reason).catch((error) =>
      this.#options.logger.warn("the cluster did not take the hold", { mode, error: toError(error).message })
    );
  }

  /** The operator's hold, or null. */
  get forced(): ForcedHold | null {
    return this.#forced ? { ...this.#forced } : null;
  }

  /** Resolves when no switch is running or queued. */
  async idle(): Promise<void> {
    while (this.#pending > 0) await this.#queue;
  }

  /**
   * Runs `work` after every queued switch and before any later one.
   * From inside a switch (a callback or lifecycle hook) it runs right away.
   */
  runExclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.#insideSwitch.getStore()?.open) return work();
    return this.#exclusive(work);
  }

  /** A snapshot of the orchestrator's statistics. */
  stats(): OrchestratorStats {
    const nowMs = this.#options.clock.now();
    const timeInModeMs = { ...this.#timeInModeMs };
    timeInModeMs[this.#selection.mode] += nowMs - this.#enteredModeAtMs;
    return {
      currentMode: this.#selection.mode,
      variant: variantOf(this.#selection),
      ...this.#counters,
      unavailableModes: { ...this.#unavailable },
      lastModeChange: this.#lastModeChange?.atMs ?? null,
      lastModeChangeReason: this.#lastModeChange?.reason ?? null,
      timeInModeMs,
      history: this.#history.list(),
      flapping: this.#flapping,
      forced: this.forced,
      cooldownRemainingMs: this.#cooldownRemainingMs(),
      switching: this.#pending > 0,
    };
  }

  #target(decision: Decision | undefined): { selection: Selection; reason: string; origin: SwitchOrigin } {
    const { flags: flagStore, nodeId, config } = this.#options;
    const flags = flagStore.values;
    if (!flags.enableHybridMode) {
      return {
        selection: { mode: Mode.Datacenter, useV3: false },
        reason: "flag enableHybridMode is off",
        origin: "flags",
      };
    }
    const useV3 = flagStore.usesV3(nodeId);
    const variantReason = flags.forceV1Mode
      ? "flag forceV1Mode is on"
      : `v3RolloutPercentage ${flags.v3RolloutPercentage} ${useV3 ? "includes" : "excludes"} this node`;
    if (this.#forced) {
      const sameMode = this.#forced.mode === this.#selection.mode;
      return {
        selection: { mode: this.#forced.mode, useV3 },
        reason: sameMode ? variantReason : this.#forced.reason,
        origin: sameMode ? "flags" : "forced",
      };
    }
    const automatic = config.enabled && flags.enableModeDetection && decision !== undefined;
    if (automatic && decision.mode !== this.#selection.mode) {
      return { selection: { mode: decision.mode, useV3 }, reason: decision.reason, origin: "auto" };
    }
    const why = useV3 !== this.#selection.useV3
      ? variantReason
      : decision === undefined
      ? "nothing measured yet"
      : automatic
      ? decision.reason
      : "automatic switching is off";
    return { selection: { mode: this.#selection.mode, useV3 }, reason: why, origin: "flags" };
  }

  #exclusive<T>(work: () => T | Promise<T>): Promise<T> {
    if (this.#insideSwitch.getStore()?.open) {
      // Asked from inside a switch: waiting here would wait for ourselves. Run
      // it right after the current switch and answer now.
      const deferred = this.#enqueue(work);
      deferred.catch((error) =>
        this.#options.logger.error("deferred request failed", { error: toError(error).message })
      );
      return Promise.resolve(
        this.#outcome("deferred", "requested during a switch; it runs when that switch completes") as T,
      );
    }
    return this.#enqueue(work);
  }

  #enqueue<T>(work: () => T | Promise<T>): Promise<T> {
    this.#pending++;
    const scope = { open: true };
    const run = this.#queue.then(() => this.#insideSwitch.run(scope, work)).finally(() => {
      scope.open = false;
      this.#pending--;
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #switchTo(
    selection: Selection,
    reason: string,
    origin: SwitchOrigin,
    sample?: Decision["sample"],
  ): Promise<SwitchOutcome> {
    const { adapter, clock, config, logger } = this.#options;
    const from = { ...this.#selection };
    if (from.mode === selection.mode && from.useV3 === selection.useV3) {
      return this.#outcome("unchanged", reason);
    }
    const startedMs = clock.now();
    this.#lastAttemptMs = startedMs;
    this.#lastRefusal = undefined;
    const base = {
      id: this.#nextRecordId++,
      from: from.mode,
      to: selection.mode,
      fromVariant: variantOf(from),
      toVariant: variantOf(selection),
      reason,
      origin,
      atMs: startedMs,
      ...(sample ? { sample } : {}),
    };
    const activateTimeoutMs = this.#options.activateTimeoutMs ?? Number.POSITIVE_INFINITY;

    let transition;
    try {
      transition = await adapter.prepare(selection, activateTimeoutMs);
    } catch (error) {
      return this.#fail(base, toError(error).message);
    }
    transition.commit();
    this.#selection = { ...selection };

    const event: ModeChangeEvent = {
      from: base.from,
      to: base.to,
      fromVariant: base.fromVariant,
      toVariant: base.toVariant,
      reason,
      origin,
      atMs: startedMs,
    };
    for (const callback of [...this.#callbacks]) {
      try {
        const result = await runWithTimeout(clock, activateTimeoutMs, () => callback(event));
        if (result.timedOut) throw new SwitchyardError("SWITCH_FAILED", `timed out after ${activateTimeoutMs} ms`);
      } catch (error) {
        await transition.rollback();
        this.#selection = from;
        return this.#fail(base, `mode-change callback failed: ${toError(error).message}`);
      }
    }

    const committedMs = clock.now();
    if (from.mode !== selection.mode) {
      this.#timeInModeMs[from.mode] += committedMs - this.#enteredModeAtMs;
      this.#enteredModeAtMs = committedMs;
      this.#counters.modeChanges++;
      this.#lastModeChange = { atMs: committedMs, reason };
      this.#modeChangeTimes.push(committedMs);
    }
    this.#counters.successfulSwitches++;

    const report = await transition.retire({
      graceful: config.gracefulTransition,
      drainTimeoutMs: config.drainTimeoutMs,
    });
    const agreement = from.mode !== selection.mode ? this.#options.agreement?.() : undefined;
    const agreed = agreement ? await this.#agree(agreement, base.id, selection.mode, sample) : undefined;
    const record: SwitchRecord = {
      ...base,
      durationMs: clock.now() - startedMs,
      outcome: "success",
      drainTimeouts: report.drainTimeouts,
      ...(agreed ? { agreement: agreed } : {}),
    };
    this.#history.push(record);
    this.#counters.drainTimeouts += report.drainTimeouts.length;
    for (const component of report.drainTimeouts) {
      this.#options.events.emit("drain-timeout", { atMs: clock.now(), component, switchId: record.id });
    }
    logger.info(`switched ${record.from}/${record.fromVariant} -> ${record.to}/${record.toVariant}`, {
      reason,
      origin,
      durationMs: record.durationMs,
      ...(report.drainTimeouts.length ? { drainTimeouts: report.drainTimeouts } : {}),
    });
    this.#options.events.emit("switch", record);
    this.#updateFlapping();
    return { status: "switched", mode: this.#selection.mode, reason, record };
  }

  /**
   * The agreement step: reports this node's medians to the cluster, then
   * waits until the cluster's decision is `wanted` or `agreementTimeoutMs`
   * has passed. Never throws: a report that fails, or a cluster that decides
   * otherwise, leaves the step `pending` (logged, and in the event).
   */
  async #agree(
    agreement: ModeAgreement,
    switchId: number,
    wanted: Mode,
    sample: Decision["sample"] | undefined,
  ): Promise<NonNullable<SwitchRecord["agreement"]>> {
    const { clock, config, logger } = this.#options;
    const startedMs = clock.now();
    const deadline = startedMs + config.agreementTimeoutMs;
    const clusterMode = () => agreement.agreementStats().agreed.mode;
    // A switch without medians (forced, or by flags) reports nothing: an empty report would only hide this member's
    // latest measurements from the cluster until the next one.
    if (sample && Object.keys(sample).length > 0) {
      try {
        await runWithTimeout(clock, config.agreementTimeoutMs, () => agreement.report(sample));
      } catch (error) {
        logger.warn("reporting to the cluster's agreement failed", { error: toError(error).message });
      }
    }
    while (clusterMode() !== wanted && clock.now() < deadline) {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, Math.min(20, deadline - clock.now())));
    }
    const result = {
      status: clusterMode() === wanted ? "agreed" as const : "pending" as const,
      clusterMode: clusterMode(),
      waitedMs: clock.now() - startedMs,
    };
    if (result.status === "pending") {
      logger.info(`the cluster has not agreed on ${wanted} (it runs ${result.clusterMode}); cluster-wide parts stay`, {
        waitedMs: result.waitedMs,
      });
    }
    this.#options.events.emit("agreement", {
      atMs: clock.now(),
      switchId,
      wanted,
      clusterMode: result.clusterMode,
      status: result.status,
    });
    return result;
  }

  #fail(base: Omit<SwitchRecord, "durationMs" | "outcome" | "drainTimeouts">, error: string): SwitchOutcome {
    const record: SwitchRecord = {
      ...base,
      durationMs: this.#options.clock.now() - base.atMs,
      outcome: "failed",
      error,
      drainTimeouts: [],
    };
    this.#counters.failedSwitches++;
    this.#history.push(record);
    this.#options.logger.error(`switch ${record.from} -> ${record.to} rolled back`, { error, reason: record.reason });
    this.#options.events.emit("switch-failed", record);
    return { status: "failed", mode: this.#selection.mode, reason: error, record };
  }

  #refuse(selection: Selection, reason: string, origin: SwitchOrigin): SwitchOutcome {
    const why = `mode ${selection.mode} is unavailable: ${this.#unavailable[selection.mode]}`;
    this.#counters.refusedSwitches++;
    const key = `${selection.mode}|${reason}`;
    if (key !== this.#lastRefusal) {
      // Record a refusal once until something else happens, not at every detection round.
      this.#lastRefusal = key;
      const record: SwitchRecord = {
        id: this.#nextRecordId++,
        from: this.#selection.mode,
        to: selection.mode,
        fromVariant: variantOf(this.#selection),
        toVariant: variantOf(selection),
        reason,
        origin,
        atMs: this.#options.clock.now(),
        durationMs: 0,
        outcome: "refused",
        error: why,
        drainTimeouts: [],
      };
      this.#history.push(record);
      this.#options.logger.warn(`switch ${record.from} -> ${record.to} refused`, { error: why });
      this.#options.events.emit("switch-refused", record);
      return { status: "refused", mode: this.#selection.mode, reason: why, record };
    }
    return { status: "refused", mode: this.#selection.mode, reason: why };
  }

  #outcome(status: SwitchOutcome["status"], reason: string): SwitchOutcome {
    return { status, mode: this.#selection.mode, reason };
  }

  #cooldownRemainingMs(): number {
    if (this.#lastAttemptMs === undefined) return 0;
    return Math.max(0, this.#lastAttemptMs + this.#options.config.cooldownMs - this.#options.clock.now());
  }

  #expireHold(): void {
    const untilMs = this.#forced?.untilMs;
    if (untilMs !== undefined && this.#options.clock.now() >= untilMs) {
      this.#options.logger.info("forced hold expired", { mode: this.#forced?.mode });
      this.#forced = null;
      this.#askCluster(null, "hold expired");
    }
  }

  #updateFlapping(): void {
    const { clock, config, events, logger } = this.#options;
    const nowMs = clock.now();
    this.#modeChangeTimes = this.#modeChangeTimes.filter((atMs) => nowMs - atMs < config.flapWindowMs);
    const flapping = this.#modeChangeTimes.length > config.flapMaxSwitches;
    if (flapping === this.#flapping) return;
    this.#flapping = flapping;
    const event = {
      atMs: nowMs,
      flapping,
      switchesInWindow: this.#modeChangeTimes.length,
      windowMs: config.flapWindowMs,
    };
    if (flapping) logger.warn("flapping: too many mode changes", event);
    else logger.info("flapping cleared", event);
    events.emit("flapping", event);
  }
}
