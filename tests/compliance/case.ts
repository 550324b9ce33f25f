/**
 * The shape of a compliance case and how to register a list of them with a
 * test runner.
 *
 * @module
 */

/** One compliance check: a name and an async body that throws on failure. */
export interface ComplianceCase {
  /** What is checked. */
  name: string;
  /** Runs the check; throws (e.g. an AssertionError) when the plugin does not comply. */
  run(): Promise<void>;
}

/** A test-registration function such as `Deno.test` or `bun:test`'s `test`. */
export type TestRegistrar = (name: string, fn: () => Promise<void>) => void;

/**
 * Registers every case as a test named `label: case`. Uses `Deno.test` unless
 * another registrar is given (under Bun, pass `test` from `bun:test`).
 *
 * @example
 * ```ts ignore
 * import { compressorCompliance, runCompliance } from "@switchyard/hybrid/testing";
 * runCompliance("my-codec", compressorCompliance(() => myCompressor()));
 * ```
 */
export function runCompliance(label: string, cases: readonly ComplianceCase[], test?: TestRegistrar): void {
  const registrar = test ?? (globalThis as { Deno?: { test?: TestRegistrar } }).Deno?.test;
  if (!registrar) throw new Error("runCompliance: no Deno.test here; pass your runner's test function");
  for (const check of cases) registrar(`${label}: ${check.name}`, () => check.run());
}
