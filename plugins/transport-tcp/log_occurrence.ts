/**
 * How often a recurring fault is logged: the first time, then at every power
 * of two, so a flood leaves a few lines and the counters say the rest.
 *
 * @module
 */

/** Whether the `count`-th occurrence of something is logged: the first, and then every power of two. */
export const logsOccurrence = (count: number): boolean => count > 0 && (count & (count - 1)) === 0;
