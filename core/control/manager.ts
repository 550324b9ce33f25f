/**
 * The HybridManager: detection loop, orchestrator, adapter and flags wired
 * together behind one object.
 *
 * @module
 */
import { ModeAwareAdapter } from "./adapter.ts";
import { type Clock, SystemClock, type TimerId } from "../util/clock.ts";
import type { ComponentKey, Implementations } from "../contracts/component.ts";
import { type HybridConfig, type HybridConfigInput, resolveConfig } from "./config.ts";
import { ModeDetector } from "./detector.ts";
import { SwitchyardError, toError, ValidationError } from "../util/errors.ts";
import { TypedEmitter, type Unsubscribe } from "../util/events.ts";
import type { ExtensionHost } from "./extension_host.ts";
import { FeatureFlags, type FeatureFlagsPatch, rolloutBucket } from "./flags.ts";
import { consoleLogger, type Logger } from "../util/logger.ts";
import type { ManagerEvents } from "./manager_events.ts";
import type { DetectionReport, HybridStats, ProbeStats } from "./manager_stats.ts";
import type { Mode } from "../contracts/mode.ts";
import { HybridOrchestrator, type ModeChangeCallback, type SwitchOutcome } from "./orchestrator.ts";
import { type Metrics, MetricsRegistry } from "./metrics.ts";
import type { OwnedPlugins } from "./plugin_status.ts";
import { measureProbes, peerMeasurements, type Probe, type ProbeResult, validateProbes } from "../contracts/probe.ts";
import type { NetworkSample } from "../contracts/sample.ts";
import { type ModeAgreement, modeAgreementOf } from "../contracts/mode_agreement.ts";
import { LinkModes } from "./link_modes.ts";

/** What {@linkcode HybridManager} accepts. Everything is optional. */
export interface HybridManagerOptions {
  /** Thresholds, timings and behaviour; validated, defaults from the design. */
  config?: HybridConfigInput;
  /** Time source; {@linkcode SystemClock} by default, a `ManualClock` in tests. */
  clock?: Clock;
  /** What measures the network; without probes the mode only changes when forced. */
  probes?: Probe[];
  /** Where to log; warnings and errors to the console by default. */
  logger?: Logger;
  /** Feature flags, or their initial values. */
  flags?: FeatureFlags | FeatureFlagsPatch;
  /** This node's id; it decides the v3 rollout bucket, so keep it stable. A random UUID by default. */
  nodeId?: string;
  /** Where the core and plugins record metrics; a new registry by default. */
  metrics?: Metrics;
  /** Modes that cannot be served, with why (set by `fromManifest` for failed slot plugins). */
  unavailableModes?: Partial<Record<Mode, string>>;
  /** The plugin set this manager owns (set by `fromManifest`): in `getStats().plugins`, closed by `close()`. */
  plugins?: OwnedPlugins;
}

/**
 * Keeps a node on the stack that fits its network: measures with probes,
 * decides with hysteresis and cooldown, and switches registered components
 * gracefully.
 *
 * @example
 * ```ts
 * import { componentKey, HybridManager, ManualClock } from "../../mod.ts";
 * const clock = new ManualClock();
 * const manager = new HybridManager({
 *   clock,
 *   config: { sampleWindow: 1 },
 *   probes: [{ name: "lan", measure: async () => ({ rttMs: 0.3, bandwidthMbps: 10_000, lossRatio: 0 }) }],
 * });
 * const CODEC = componentKey<{ name: string }>("codec");
 * manager.registerComponent(CODEC, { name: "lz4" }, { name: "zstd" });
 * manager.onModeChange(({ from, to, reason }) => console.log(from, "->", to, reason));
 * await manager.start();
 * await clock.advance(0); // first detection round
 * manager.getComponent(CODEC).name; // "lz4"
 * await manager.stop();
 * ```
 */
export class HybridManager implements ExtensionHost {
  /** The validated configuration. */
  readonly config: HybridConfig;
  /** The time source. */
  readonly clock: Clock;
  /** The run-time feature flags. */
  readonly flags: FeatureFlags;
  /** This node's id. */
  readonly nodeId: string;
  /** The logger. */
  readonly logger: Logger;
  /** The typed event stream: samples, switches, failures, probe errors, flapping. */
  readonly events: TypedEmitter<ManagerEvents>;
  /** The component registry. */
  readonly adapter: ModeAwareAdapter;
  /** The switch orchestrator. */
  readonly orchestrator: HybridOrchestrator;
  /** The detector. */
  readonly detector: ModeDetector;
  /** Metrics of the core and the plugins. */
  readonly metrics: Metrics;

  readonly #probes: Probe[];
  readonly #probeStats = new Map<string, ProbeStats>();
  #initialized = false;
  #running = false;
  #timer: TimerId | undefined;
  #round: Promise<unknown> | undefined;
  #abort = new AbortController();
  #lastSample: NetworkSample | null = null;
  #detections = 0;
  #probeErrors = 0;
  #activations = new Set<Promise<unknown>>();
  readonly #plugins: OwnedPlugins | undefined;
  readonly #links: LinkModes | undefined;

  /** Creates a manager; throws a {@linkcode ValidationError} naming every bad option. */
  constructor(options: HybridManagerOptions = {}) {
    this.config = resolveConfig(options.config);
    this.clock = options.clock ?? new SystemClock();
    this.logger = options.logger ?? consoleLogger("warn");
    this.flags = options.flags instanceof FeatureFlags ? options.flags : new FeatureFlags(options.flags ?? {});
    if (options.nodeId !== undefined && (typeof options.nodeId !== "string" || options.nodeId.trim() === "")) {
      throw new ValidationError("INVALID_ARGUMENT", "HybridManager options", [
        { path: "nodeId", message: "must be a non-empty string" },
      ]);
    }
    this.nodeId = options.nodeId ?? crypto.randomUUID();
    this.#probes = validateProbes(options.probes ?? []);
    for (const probe of this.#probes) {
      this.#probeStats.set(probe.name, { name: probe.name, successes: 0, failures: 0, timeouts: 0 });
    }
    this.events = new TypedEmitter<ManagerEvents>((error, event) =>
      this.logger.error("event listener threw", { event: String(event), error: toError(error).message })
    );
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.#plugins = options.plugins;
    this.adapter = new ModeAwareAdapter(this.clock, this.logger);
    this.detector = new ModeDetector(this.config);
    if (this.config.linkModes === "per-peer") this.#links = new LinkModes(this.config, this.config.initialMode);
    this.orchestrator = new HybridOrchestrator({
      config: this.config,
      clock: this.clock,
      adapter: this.adapter,
      flags: this.flags,
      nodeId: this.nodeId,
      logger: this.logger,
      events: this.events,
      activateTimeoutMs: this.config.activateTimeoutMs,
      agreement: () => this.#agreement(),
      ...(options.unavailableModes ? { unavailableModes: options.unavailableModes } : {}),
    });
  }

  /** The mode served now. */
  get currentMode(): Mode {
    return this.orchestrator.mode;
  }

  /**
   * Activates the implementations that serve the initial mode. Idempotent.
   * Rejects with `SWITCH_FAILED` naming each component whose `activate()`
   * failed; call it again after fixing them.
   */
  async initialize(): Promise<void> {
    if (this.#initialized) return;
    await this.orchestrator.runExclusive(async () => {
      if (this.#initialized) return;
      const failures = await this.adapter.activatePending();
      if (failures.length > 0) {
        const detail = failures.map((failure) => `"${failure.component}": ${failure.message}`).join("; ");
        throw new SwitchyardError("SWITCH_FAILED", `initialize: components failed to activate: ${detail}`);
      }
      this.orchestrator.resetClockAccounting();
      this.#initialized = true;
      this.logger.info("initialized", { mode: this.currentMode, nodeId: this.nodeId });
    });
  }

  /**
   * Initializes if needed and starts the detection loop (the first round runs
   * at once, then every `detectionIntervalMs`). Restartable after `stop()`.
   */
  async start(): Promise<void> {
    if (this.#running) return;
    await this.initialize();
    this.#running = true;
    this.#abort = new AbortController();
    if (this.config.enabled && this.config.autoDetect) this.#schedule(0);
    this.logger.info("started", { detectionIntervalMs: this.config.detectionIntervalMs });
  }

  /**
   * Pauses: stops the detection loop, aborts probes in flight, and waits for
   * a switch in progress to complete, so nothing is left half switched. The
   * components stay active and keep serving (`getComponent()` still answers),
   * the plugins stay open, and `start()` resumes detection. Use `close()`
   * when the node is done.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#abort.abort(new SwitchyardError("PROBE_FAILED", "manager stopped"));
    await this.#round?.catch(() => {});
    await Promise.allSettled([...this.#activations]);
    await this.orchestrator.idle();
    this.logger.info("stopped");
  }

  /**
   * Shuts down for good: `stop()`, then deactivates the serving
   * implementations, then closes every plugin this manager owns (those
   * `fromManifest` loaded, in reverse creation order), which ends their
   * worker threads, sockets, servers and timers. Afterwards nothing of
   * Switchyard keeps the process alive, so a program exits by itself.
   * Meant as the last call: the plugins are closed, so do not start the
   * manager again. Components registered by hand are deactivated, not
   * closed; close what you created yourself.
   */
  async close(): Promise<void> {
    await this.stop();
    await this.orchestrator.runExclusive(() => this.adapter.deactivateAll());
    this.#initialized = false;
    await this.#plugins?.close();
  }

  /**
   * Registers a component: `(name, v1, v3)` where v1 serves datacenter and v3
   * serves internet and hybrid, or `(name, { datacenter, internet, hybrid })`.
   * After `initialize()`, the serving implementation is activated right away
   * (failures show in `getStats().components`).
   */
  registerComponent<T>(key: ComponentKey<T> | string, v1: T, v3: T): void;
  /** Registers a component with one implementation per mode. */
  registerComponent<T>(key: ComponentKey<T> | string, implementations: Implementations<T>): void;
  registerComponent(key: ComponentKey<unknown> | string, v1OrMap: unknown, v3?: unknown): void {
    const name = typeof key === "string" ? key : key?.name;
    this.adapter.register(name, v1OrMap, v3, this.orchestrator.selection);
    if (!this.#initialized) return;
    const activation = this.orchestrator.runExclusive(() => this.adapter.activatePending([name]))
      .then((failures) => {
        for (const failure of failures) this.logger.error("component failed to activate", { ...failure });
      });
    this.#activations.add(activation);
    activation.finally(() => this.#activations.delete(activation));
  }

  /**
   * The implementation of the component serving now, typed by its key (see
   * `componentKey()`; the slot components have `TRANSPORT`, `CONSENSUS` and
   * `COMPRESSION`). Throws `COMPONENT_UNKNOWN` for an unknown component.
   */
  getComponent<T>(key: ComponentKey<T>): T;
  /** The implementation of the component `name` serving now, untyped: prefer a {@linkcode ComponentKey}. */
  getComponent(name: string): unknown;
  getComponent(key: ComponentKey<unknown> | string): unknown {
    return this.adapter.get(typeof key === "string" ? key : key?.name);
  }

  /**
   * Calls `callback` during every switch; a callback that throws rolls the
   * switch back. Returns a function that removes it.
   */
  onModeChange(callback: ModeChangeCallback): Unsubscribe {
    return this.orchestrator.onModeChange(callback);
  }

  /** Listens to one kind of event; returns a function that stops listening. */
  on<K extends keyof ManagerEvents>(event: K, listener: (payload: ManagerEvents[K]) => void): Unsubscribe {
    return this.events.on(event, listener);
  }

  /**
   * Switches to `mode` now, ignoring the cooldown, and holds it until
   * {@linkcode HybridManager.resumeAutoDetection} (or for `holdMs`).
   */
  forceMode(mode: Mode, reason?: string, options?: { holdMs?: number }): Promise<SwitchOutcome> {
    return this.orchestrator.force(mode, reason, options);
  }

  /**
   * The mode the link to `peer` (named as the probes name it) serves: with
   * `linkModes: "per-peer"` the link's own, once it has been measured; the
   * node's mode otherwise. Per-link components follow it.
   */
  linkMode(peer: string): Mode {
    return this.#links?.mode(peer) ?? this.currentMode;
  }

  /** Releases a forced mode; the next detection decides again. */
  resumeAutoDetection(): void {
    this.orchestrator.resume();
  }

  /** Measures every probe now and applies the decision. */
  detectNow(): Promise<DetectionReport> {
    return this.#detect();
  }

  /** A snapshot of everything worth knowing about this node. */
  getStats(): HybridStats {
    const agreement = this.#agreement();
    return {
      ...this.orchestrator.stats(),
      nodeId: this.nodeId,
      rolloutBucket: rolloutBucket(this.nodeId),
      running: this.#running,
      initialized: this.#initialized,
      lastSample: this.#lastSample ? { ...this.#lastSample } : null,
      summary: this.detector.summary(),
      detections: this.#detections,
      probeErrors: this.#probeErrors,
      probes: [...this.#probeStats.values()].map((stats) => ({
        ...stats,
        ...(stats.peers ? { peers: mapValues(stats.peers, (peer) => ({ ...peer })) } : {}),
      })),
      components: this.adapter.status(),
      flags: this.flags.values,
      plugins: this.#plugins?.records() ?? [],
      ...(agreement ? { agreement: agreement.agreementStats() } : {}),
      ...(this.#links ? { links: this.#links.status() } : {}),
    };
  }

  /** The cluster's mode agreement a registered component carries (the adaptive consensus engine), if any. */
  #agreement(): ModeAgreement | undefined {
    for (const name of Object.keys(this.adapter.status())) {
      let implementation: unknown;
      try {
        implementation = this.adapter.get(name);
      } catch {
        continue; // not serving yet
      }
      const agreement = modeAgreementOf(implementation);
      if (agreement) return agreement;
    }
    return undefined;
  }

  #schedule(delayMs: number): void {
    this.#timer = this.clock.setTimeout(() => this.#tick(), delayMs);
  }

  #tick(): void {
    if (!this.#running) return;
    this.#schedule(this.config.detectionIntervalMs);
    if (this.#round) {
      this.logger.warn("detection round still running; skipping this tick");
      return;
    }
    const round = this.#detect().catch((error) =>
      this.logger.error("detection round failed", { error: toError(error).message })
    );
    this.#round = round;
    round.finally(() => {
      if (this.#round === round) this.#round = undefined;
    });
  }

  async #detect(): Promise<DetectionReport> {
    const round = await measureProbes(this.#probes, this.clock, this.config.probeTimeoutMs, this.#abort.signal);
    const atMs = this.clock.now();
    this.#detections++;
    for (const result of round.results) this.#recordProbe(result, atMs);
    for (const probe of this.#probes) this.#recordPeers(probe);
    this.#classifyLinks(round.results, atMs);
    const measured = Object.keys(round.sample).length > 0;
    if (measured) {
      this.#lastSample = round.sample;
      this.detector.observe(round.sample);
    }
    const summary = this.detector.summary();
    this.events.emit("sample", { atMs, sample: round.sample, summary, probes: round.results });
    const decision = this.detector.decide(this.orchestrator.mode);
    const outcome = await this.orchestrator.reconcile(decision);
    return { sample: round.sample, summary, probes: round.results, ...(decision ? { decision } : {}), outcome };
  }

  /**
   * With per-peer link modes: classifies every link on this round's per-peer
   * measurements, of the probes that succeeded in it (a failed probe's
   * `peers()` still holds its previous round's, which were counted then).
   */
  #classifyLinks(results: ProbeResult[], atMs: number): void {
    if (!this.#links) return;
    const rounds = results.flatMap((result) => {
      const peers = result.error === undefined ? this.#probeStats.get(result.probe)?.peers : undefined;
      return peers ? [peers] : [];
    });
    // A link measured for the first time starts from what it served until then: the node's mode.
    for (const change of this.#links.observe(rounds, atMs, this.currentMode)) {
      this.logger.info("link mode changed", { peer: change.peer, from: change.from, to: change.to });
      this.events.emit("link-mode", change);
    }
  }

  /** Reads the per-peer results of a probe that has `peers()` into its stats, checked. */
  #recordPeers(probe: Probe): void {
    if (typeof probe.peers !== "function") return;
    const stats = this.#probeStats.get(probe.name)!;
    let found: unknown;
    try {
      found = probe.peers();
    } catch (error) {
      delete stats.peers;
      this.logger.warn("probe peers() failed", { probe: probe.name, error: toError(error).message });
      return;
    }
    const { peers, dropped } = peerMeasurements(found);
    stats.peers = peers;
    if (dropped > 0) this.logger.warn("probe peers() returned invalid entries", { probe: probe.name, dropped });
  }

  #recordProbe(result: ProbeResult, atMs: number): void {
    const stats = this.#probeStats.get(result.probe);
    if (!stats) return;
    if (result.error === undefined) {
      stats.successes++;
      stats.lastSample = result.sample;
      return;
    }
    stats.failures++;
    stats.lastError = result.error;
    if (result.timedOut) stats.timeouts++;
    this.#probeErrors++;
    this.logger.warn("probe failed", { probe: result.probe, error: result.error });
    this.events.emit("probe-error", {
      atMs,
      probe: result.probe,
      error: result.error,
      timedOut: result.timedOut ?? false,
    });
  }
}

/** `record` with `f` applied to each value. */
function mapValues<T, U>(record: Record<string, T>, f: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value)]));
}
