/**
 * Feature flags that steer rollout at run time. Changes take effect at the
 * manager's next decision.
 *
 * @module
 */
import * as v from "valibot";
import { TypedEmitter, type Unsubscribe } from "../util/events.ts";
import { parseOrThrow } from "../util/validation.ts";

/** The schema of a flag update; unknown flags are rejected. */
export const FeatureFlagsPatchSchema: v.GenericSchema<FeatureFlagsPatch> = v.strictObject({
  /** Off: the node stays in datacenter mode with v1 implementations. */
  enableHybridMode: v.optional(v.boolean()),
  /** Off: no automatic switching; `forceMode` still works. */
  enableModeDetection: v.optional(v.boolean()),
  /** Share of nodes (0–100) that take v3 implementations, chosen by node id. */
  v3RolloutPercentage: v.optional(
    v.pipe(v.number(), v.finite(), v.minValue(0, "must be 0 or more"), v.maxValue(100, "must be at most 100")),
  ),
  /** Kill switch: every component uses its v1 (datacenter) implementation. */
  forceV1Mode: v.optional(v.boolean()),
});

/** The current value of every flag. */
export interface FeatureFlagValues {
  /** Off: the node stays in datacenter mode with v1 implementations. */
  enableHybridMode: boolean;
  /** Off: no automatic switching; `forceMode` still works. */
  enableModeDetection: boolean;
  /** Share of nodes (0–100) that take v3 implementations, chosen by node id. */
  v3RolloutPercentage: number;
  /** Kill switch: every component uses its v1 (datacenter) implementation. */
  forceV1Mode: boolean;
}

/** A partial update of the flags. */
export type FeatureFlagsPatch = Partial<FeatureFlagValues>;

/** Flag values when nothing is set. */
export const DEFAULT_FLAGS: Readonly<FeatureFlagValues> = Object.freeze({
  enableHybridMode: true,
  enableModeDetection: true,
  v3RolloutPercentage: 100,
  forceV1Mode: false,
});

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `text`.
 *
 * @example
 * ```ts
 * import { fnv1a32 } from "./flags.ts";
 * fnv1a32("a"); // 0xe40c292c
 * ```
 */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The rollout bucket (0–99) of a node id: FNV-1a-32 of the id, mod 100. */
export function rolloutBucket(nodeId: string): number {
  return fnv1a32(nodeId) % 100;
}

/**
 * Run-time feature flags, validated on every change, observable.
 *
 * @example
 * ```ts
 * import { FeatureFlags } from "./flags.ts";
 * const flags = new FeatureFlags({ v3RolloutPercentage: 25 });
 * flags.usesV3("node-7"); // true for about a quarter of node ids
 * flags.update({ forceV1Mode: true }); // kill switch
 * ```
 */
export class FeatureFlags {
  #values: FeatureFlagValues;
  readonly #events = new TypedEmitter<{ change: Readonly<FeatureFlagValues> }>();

  /** Creates flags from defaults overridden by `initial` (validated). */
  constructor(initial: FeatureFlagsPatch = {}) {
    const patch = parseOrThrow(FeatureFlagsPatchSchema, initial, "feature flags", "INVALID_ARGUMENT", "flags");
    this.#values = { ...DEFAULT_FLAGS, ...stripUndefined(patch) };
  }

  /** A snapshot of every flag. */
  get values(): Readonly<FeatureFlagValues> {
    return { ...this.#values };
  }

  /** Applies a validated partial update and notifies listeners. Returns the new values. */
  update(patch: FeatureFlagsPatch): Readonly<FeatureFlagValues> {
    const parsed = parseOrThrow(FeatureFlagsPatchSchema, patch, "feature flags", "INVALID_ARGUMENT", "flags");
    this.#values = { ...this.#values, ...stripUndefined(parsed) };
    const snapshot = this.values;
    this.#events.emit("change", snapshot);
    return snapshot;
  }

  /** Calls `listener` after every update; returns a function that stops it. */
  onChange(listener: (values: Readonly<FeatureFlagValues>) => void): Unsubscribe {
    return this.#events.on("change", listener);
  }

  /**
   * Whether the node `nodeId` takes v3 implementations: only when the kill
   * switch is off and its rollout bucket is below `v3RolloutPercentage`.
   */
  usesV3(nodeId: string): boolean {
    if (this.#values.forceV1Mode) return false;
    return rolloutBucket(nodeId) < this.#values.v3RolloutPercentage;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
