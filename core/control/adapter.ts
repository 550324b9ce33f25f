/**
 * The component registry: which implementation of each component serves
 * now, and the graceful hand-over from one set to another.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import {
  implementationKey,
  type Implementations,
  type Lifecycle,
  type Selection,
  toImplementations,
  type Variant,
  variantOf,
} from "../contracts/component.ts";
import { SwitchyardError, toError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/logger.ts";
import { Mode } from "../contracts/mode.ts";
import { runWithTimeout } from "../util/timeout.ts";

/** The state of one registered component, as reported in stats. */
export interface ComponentStatus {
  /** Which mode's implementation serves lookups now. */
  serving: Mode;
  /** `"v1"` when the datacenter implementation serves, else `"v3"`. */
  variant: Variant;
  /** `active` after a successful activate, `failed` when it threw, `registered` before initialize. */
  state: "registered" | "active" | "failed";
  /** The last lifecycle error of this component, if any. */
  lastError?: string;
}

/** What retiring the outgoing implementations reported. */
export interface RetireReport {
  /** Components whose drain hit `drainTimeoutMs`. */
  drainTimeouts: string[];
  /** Components whose drain or deactivate threw, with the message. */
  errors: { component: string; phase: "drain" | "deactivate"; message: string }[];
}

/** Options of {@linkcode Transition.retire}. */
export interface RetireOptions {
  /** Drain before deactivating. */
  graceful: boolean;
  /** Upper bound of one drain. */
  drainTimeoutMs: number;
}

interface Entry {
  implementations: Implementations;
  serving: Mode;
  state: ComponentStatus["state"];
  lastError?: string;
}

/** The lifecycle hook `name` of `implementation`, bound, or undefined when it has none. */
function hook<K extends keyof Lifecycle>(implementation: unknown, name: K): Lifecycle[K] | undefined {
  const candidate = (implementation as Lifecycle | null)?.[name];
  return typeof candidate === "function" ? candidate.bind(implementation) as Lifecycle[K] : undefined;
}

/**
 * A switch in progress: incoming implementations are active; `commit` points
 * lookups at them, `rollback` undoes everything, `retire` drains and
 * deactivates the outgoing ones.
 */
export interface Transition {
  /** Points every component at its incoming implementation. */
  commit(): void;
  /** Points lookups back at the old implementations and deactivates the incoming ones. */
  rollback(): Promise<void>;
  /** Drains (bounded) and deactivates the implementations no longer in use. */
  retire(options: RetireOptions): Promise<RetireReport>;
}

/**
 * Holds, for every named component, one implementation per mode and the one
 * that serves now.
 *
 * @example
 * ```ts
 * import { ModeAwareAdapter } from "./adapter.ts";
 * import { ManualClock } from "../util/clock.ts";
 * const adapter = new ModeAwareAdapter(new ManualClock());
 * adapter.register("codec", { name: "lz4" }, { name: "zstd" });
 * const transition = await adapter.prepare({ mode: "internet", useV3: true });
 * transition.commit();
 * adapter.get<{ name: string }>("codec").name; // "zstd"
 * ```
 */
export class ModeAwareAdapter {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #entries = new Map<string, Entry>();

  /** Creates an empty registry. */
  constructor(clock: Clock, logger: Logger = silentLogger) {
    this.#clock = clock;
    this.#logger = logger;
  }

  /**
   * Registers a component serving `selection` now (not yet activated).
   * Throws `COMPONENT_INVALID` for a duplicate name or a missing implementation.
   */
  register(name: string, v1OrMap: unknown, v3: unknown, selection: Selection): void {
    const implementations = toImplementations(name, v1OrMap, v3);
    if (this.#entries.has(name)) {
      throw new SwitchyardError("COMPONENT_INVALID", `registerComponent: "${name}" is already registered`);
    }
    this.#entries.set(name, { implementations, serving: implementationKey(selection), state: "registered" });
  }

  /** True when `name` is registered. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The implementation of `name` serving now; throws `COMPONENT_UNKNOWN` for an unknown name. */
  get<T>(name: string): T {
    const entry = this.#entries.get(name);
    if (!entry) {
      const known = [...this.#entries.keys()].map((key) => `"${key}"`).join(", ") || "none";
      throw new SwitchyardError("COMPONENT_UNKNOWN", `no component named "${name}" (registered: ${known})`);
    }
    return entry.implementations[entry.serving] as T;
  }

  /** The status of every component. */
  status(): Record<string, ComponentStatus> {
    const result: Record<string, ComponentStatus> = {};
    for (const [name, entry] of this.#entries) {
      result[name] = {
        serving: entry.serving,
        variant: entry.serving === Mode.Datacenter ? "v1" : "v3",
        state: entry.state,
        ...(entry.lastError ? { lastError: entry.lastError } : {}),
      };
    }
    return result;
  }

  /**
   * Activates the serving implementation of the named components (all that
   * are not active yet when `names` is omitted). Failures are recorded on the
   * component and returned; they never throw.
   */
  async activatePending(names?: readonly string[]): Promise<{ component: string; message: string }[]> {
    const failures: { component: string; message: string }[] = [];
    const activated = new Set<unknown>();
    for (const [name, entry] of this.#entries) {
      if (names && !names.includes(name)) continue;
      if (entry.state === "active") continue;
      const implementation = entry.implementations[entry.serving];
      try {
        if (!activated.has(implementation)) await hook(implementation, "activate")?.();
        activated.add(implementation);
        entry.state = "active";
        delete entry.lastError;
      } catch (thrown) {
        entry.state = "failed";
        entry.lastError = toError(thrown).message;
        failures.push({ component: name, message: entry.lastError });
      }
    }
    return failures;
  }

  /** Deactivates every serving implementation (once each); failures are logged, never thrown. */
  async deactivateAll(): Promise<void> {
    const done = new Set<unknown>();
    for (const [name, entry] of this.#entries) {
      const implementation = entry.implementations[entry.serving];
      if (entry.state === "active" && !done.has(implementation)) {
        done.add(implementation);
        try {
          await hook(implementation, "deactivate")?.();
        } catch (thrown) {
          this.#logger.warn("deactivate() failed", { component: name, error: toError(thrown).message });
        }
      }
      entry.state = "registered";
    }
  }

  /**
   * Activates, for `selection`, every implementation that is not serving yet,
   * each bounded by `activateTimeoutMs`. If any fails or times out, the ones
   * already activated are deactivated again and `SWITCH_FAILED` is thrown
   * naming the component; lookups never moved.
   */
  async prepare(selection: Selection, activateTimeoutMs = Number.POSITIVE_INFINITY): Promise<Transition> {
    const target = implementationKey(selection);
    const previous = new Map<string, Mode>();
    for (const [name, entry] of this.#entries) previous.set(name, entry.serving);

    const servingNow = new Set<unknown>();
    for (const entry of this.#entries.values()) servingNow.add(entry.implementations[entry.serving]);
    const incoming: { component: string; implementation: unknown }[] = [];
    for (const [name, entry] of this.#entries) {
      const implementation = entry.implementations[target];
      if (servingNow.has(implementation) || incoming.some((item) => item.implementation === implementation)) continue;
      incoming.push({ component: name, implementation });
    }

    const activated: unknown[] = [];
    for (const { component, implementation } of incoming) {
      const activate = hook(implementation, "activate");
      if (!activate) {
        activated.push(implementation);
        continue;
      }
      try {
        const result = await runWithTimeout(this.#clock, activateTimeoutMs, () => activate());
        if (result.timedOut) {
          throw new SwitchyardError("SWITCH_FAILED", `activate() timed out after ${activateTimeoutMs} ms`);
        }
        activated.push(implementation);
      } catch (thrown) {
        const message = toError(thrown).message;
        await this.#deactivateAll(activated, "rollback");
        throw new SwitchyardError(
          "SWITCH_FAILED",
          `component "${component}": ${
            variantOf(selection)
          } implementation for ${target} failed to activate: ${message}`,
          { cause: thrown },
        );
      }
    }

    const outgoing = () => {
      const stillServing = new Set<unknown>();
      for (const entry of this.#entries.values()) stillServing.add(entry.implementations[entry.serving]);
      const result: { component: string; implementation: unknown }[] = [];
      for (const [name, serving] of previous) {
        const implementation = this.#entries.get(name)?.implementations[serving];
        if (stillServing.has(implementation) || result.some((item) => item.implementation === implementation)) {
          continue;
        }
        result.push({ component: name, implementation });
      }
      return result;
    };

    return {
      commit: () => {
        for (const [name, entry] of this.#entries) {
          if (previous.has(name)) {
            entry.serving = target;
            if (entry.state !== "failed") entry.state = "active";
          }
        }
      },
      rollback: async () => {
        for (const [name, serving] of previous) {
          const entry = this.#entries.get(name);
          if (entry) entry.serving = serving;
        }
        await this.#deactivateAll(activated, "rollback");
      },
      retire: async (options) => {
        const leaving = outgoing();
        const report: RetireReport = { drainTimeouts: [], errors: [] };
        if (options.graceful) {
          await Promise.all(leaving.map((item) => this.#drain(item.component, item.implementation, options, report)));
        }
        for (const { component, implementation } of leaving) {
          try {
            await hook(implementation, "deactivate")?.();
          } catch (thrown) {
            const message = toError(thrown).message;
            report.errors.push({ component, phase: "deactivate", message });
            this.#logger.warn("deactivate() failed", { component, error: message });
          }
        }
        return report;
      },
    };
  }

  async #drain(component: string, implementation: unknown, options: RetireOptions, report: RetireReport) {
    const drain = hook(implementation, "drain");
    if (!drain) return;
    try {
      const result = await runWithTimeout(this.#clock, options.drainTimeoutMs, (signal) => drain(signal));
      if (result.timedOut) {
        report.drainTimeouts.push(component);
        this.#logger.warn("drain() timed out; deactivating anyway", {
          component,
          drainTimeoutMs: options.drainTimeoutMs,
        });
      }
    } catch (thrown) {
      const message = toError(thrown).message;
      report.errors.push({ component, phase: "drain", message });
      this.#logger.warn("drain() failed; deactivating anyway", { component, error: message });
    }
  }

  async #deactivateAll(implementations: unknown[], why: string) {
    for (const implementation of implementations) {
      try {
        await hook(implementation, "deactivate")?.();
      } catch (thrown) {
        this.#logger.warn(`deactivate() failed during ${why}`, { error: toError(thrown).message });
      }
    }
  }
}
