/**
 * A small seeded pseudo-random generator, so every random choice in tests,
 * simulations and examples can be replayed from its seed.
 *
 * @module
 */

/** A source of pseudo-random numbers in [0, 1), replayable from `seed`. */
export interface Random {
  /** The seed this generator started from. */
  readonly seed: number;
  /** The next number in [0, 1). */
  next(): number;
  /** The next number in [min, max). */
  between(min: number, max: number): number;
}

/**
 * A SplitMix32 generator: fast, well distributed, and the same sequence on
 * every runtime for the same seed.
 *
 * @example
 * ```ts
 * import { seededRandom } from "./random.ts";
 * const random = seededRandom(42);
 * const jitter = random.between(-0.05, 0.05);
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
  return { seed, next, between: (min, max) => min + (max - min) * next() };
}
