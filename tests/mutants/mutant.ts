/**
 * A mutant is data: a known bug, written as an exact snippet of one file and
 * what replaces it. Search and replace instead of a diff, so a mutant keeps
 * applying while others edit the rest of the file; a snippet that is no longer
 * there (or no longer unique) makes the mutant stale, which the mutation run
 * reports as a failure, so mutants never rot silently.
 *
 * @module
 */

/** One known bug. */
export interface Mutant {
  /** Short, unique, kebab-case name (for `--only`). */
  name: string;
  /** The file it changes, relative to the repository root. */
  file: string;
  /** Exact text to find; it must occur exactly once in `file`. */
  find: string;
  /** What replaces it. */
  replace: string;
  /** The bug, in one sentence. */
  description: string;
  /** The check expected to catch it (an invariant, the linearizability checker, a liveness check). */
  caughtBy: string;
  /**
   * Test files expected to catch it, run first: a failure there is a catch
   * (the default run contains them); when they pass, the whole default run
   * decides.
   */
  tests?: readonly string[];
}

/** A mutant applied to a file's text, or why it could not be. */
export type Applied = { ok: true; text: string } | { ok: false; reason: string };

/** Replaces the mutant's snippet in `source`; refuses when the snippet is missing or occurs more than once. */
export function applyMutant(source: string, mutant: Pick<Mutant, "find" | "replace">): Applied {
  if (mutant.find.length === 0) return { ok: false, reason: "the snippet to find is empty" };
  if (mutant.find === mutant.replace) return { ok: false, reason: "the replacement equals the snippet" };
  const first = source.indexOf(mutant.find);
  if (first < 0) return { ok: false, reason: "snippet not found" };
  const occurrences = source.split(mutant.find).length - 1;
  if (occurrences > 1) return { ok: false, reason: `snippet found ${occurrences} times` };
  return { ok: true, text: source.slice(0, first) + mutant.replace + source.slice(first + mutant.find.length) };
}
