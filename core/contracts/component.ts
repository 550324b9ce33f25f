/**
 * What a component implementation may implement, and how implementations are
 * registered per mode.
 *
 * @module
 */
import { SwitchyardError } from "../util/errors.ts";
import { Mode, MODES, type PerMode } from "./mode.ts";

/**
 * Optional lifecycle hooks of a component implementation. A switch activates
 * the incoming implementation, points lookups at it, drains the outgoing one
 * (bounded by `drainTimeoutMs`, with `signal` aborting at the bound), then
 * deactivates it.
 *
 * @example
 * ```ts
 * import type { Lifecycle } from "./component.ts";
 * class Queue implements Lifecycle {
 *   pending: Promise<void>[] = [];
 *   async activate() {}
 *   async drain(signal: AbortSignal) {
 *     await Promise.race([Promise.all(this.pending), new Promise((r) => signal.addEventListener("abort", r))]);
 *   }
 *   async deactivate() {}
 * }
 * ```
 */
export interface Lifecycle {
  /** Prepare to serve; a failure rolls the switch back. */
  activate?(): void | Promise<void>;
  /** Finish in-flight work; stop when `signal` aborts. */
  drain?(signal: AbortSignal): void | Promise<void>;
  /** Release resources; failures are reported, never fatal. */
  deactivate?(): void | Promise<void>;
}

/**
 * A component's name together with the type of its implementations, so
 * `manager.getComponent(key)` returns that type without a cast at the call
 * site, and `registerComponent(key, …)` only takes implementations of it.
 * Make one with {@linkcode componentKey}; the slot components have theirs
 * (`TRANSPORT`, `CONSENSUS`, `COMPRESSION`).
 */
export interface ComponentKey<T> {
  /** The component's name, e.g. `"compression"`. */
  readonly name: string;
  /** Carries `T` for the type checker only; never set. */
  readonly componentType?: () => T;
}

/**
 * A key for the component `name` whose implementations are `T`: the one
 * place its type is stated.
 *
 * @example
 * ```ts
 * import { componentKey } from "./component.ts";
 * interface Cache { get(key: string): string | undefined }
 * const CACHE = componentKey<Cache>("cache");
 * // manager.registerComponent(CACHE, lanCache, wanCache); manager.getComponent(CACHE).get("k")
 * ```
 */
export function componentKey<T>(name: string): ComponentKey<T> {
  if (typeof name !== "string" || name.trim() === "") {
    throw new SwitchyardError("COMPONENT_INVALID", "componentKey: name must be a non-empty string");
  }
  return Object.freeze({ name });
}

/** The implementation of one component for each mode. */
export type Implementations<T = unknown> = PerMode<T>;

/** `"v1"` is the datacenter implementation; `"v3"` the mode's own. */
export type Variant = "v1" | "v3";

/** Which implementations are in force: the mode, and whether v3 may be used. */
export interface Selection {
  /** The mode being served. */
  mode: Mode;
  /** False: every component uses its datacenter (v1) implementation. */
  useV3: boolean;
}

/** The mode whose implementation a selection uses. */
export function implementationKey(selection: Selection): Mode {
  return selection.useV3 ? selection.mode : Mode.Datacenter;
}

/** The variant a selection puts in force. */
export function variantOf(selection: Selection): Variant {
  return implementationKey(selection) === Mode.Datacenter ? "v1" : "v3";
}

/**
 * Normalizes both registration forms: `(v1, v3)` where v1 serves datacenter
 * and v3 serves internet and hybrid, or one object with an implementation per
 * mode. Throws `COMPONENT_INVALID` naming the missing field.
 */
export function toImplementations(name: string, v1OrMap: unknown, v3?: unknown): Implementations {
  if (typeof name !== "string" || name.trim() === "") {
    throw new SwitchyardError("COMPONENT_INVALID", "registerComponent: name must be a non-empty string");
  }
  const implementations: Record<string, unknown> = v3 === undefined && isPerModeMap(v1OrMap)
    ? { ...v1OrMap }
    : { datacenter: v1OrMap, internet: v3, hybrid: v3 };
  for (const mode of MODES) {
    const implementation = implementations[mode];
    if (implementation === undefined || implementation === null) {
      const field = v3 === undefined && isPerModeMap(v1OrMap)
        ? `implementations.${mode}`
        : (mode === Mode.Datacenter ? "v1" : "v3");
      throw new SwitchyardError(
        "COMPONENT_INVALID",
        `registerComponent("${name}"): ${field} is missing; pass (name, v1, v3) or (name, { datacenter, internet, hybrid })`,
      );
    }
  }
  return implementations as Implementations;
}

function isPerModeMap(value: unknown): value is Record<Mode, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => (MODES as readonly string[]).includes(key));
}
