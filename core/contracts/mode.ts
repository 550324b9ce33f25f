/**
 * The three communication modes a node can be in.
 *
 * @module
 */

/**
 * The modes, as a const object, so `Mode.Datacenter` reads well and the
 * values stay plain strings on the wire.
 *
 * @example
 * ```ts
 * import { Mode } from "./mode.ts";
 * const wanted: Mode = Mode.Internet; // "internet"
 * ```
 */
export const Mode = {
  /** Low latency, high bandwidth: Raft, RDMA, LZ4. */
  Datacenter: "datacenter",
  /** High latency, low bandwidth or lossy: PBFT, TCP with BBR, zstd. */
  Internet: "internet",
  /** Everything in between: adaptive choices. */
  Hybrid: "hybrid",
} as const;

/** One of `"datacenter"`, `"internet"`, `"hybrid"`. */
export type Mode = typeof Mode[keyof typeof Mode];

/** Every mode, in a stable order. */
export const MODES: readonly Mode[] = [Mode.Datacenter, Mode.Internet, Mode.Hybrid];

/** True when `value` is one of the {@linkcode MODES}. */
export function isMode(value: unknown): value is Mode {
  return typeof value === "string" && (MODES as readonly string[]).includes(value);
}

/** A record with one entry per mode. */
export type PerMode<T> = Record<Mode, T>;

/** Builds a {@linkcode PerMode} record by calling `make` for each mode. */
export function perMode<T>(make: (mode: Mode) => T): PerMode<T> {
  return {
    datacenter: make(Mode.Datacenter),
    internet: make(Mode.Internet),
    hybrid: make(Mode.Hybrid),
  };
}
