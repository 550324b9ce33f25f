/**
 * The shape of a compliance case and how to register a list of them with a
 * test runner.
 *
 * @module
 */
import { SwitchyardError } from "../core/util/errors.ts";

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
  if (!registrar) {
    throw new SwitchyardError("INVALID_ARGUMENT", "runCompliance: no Deno.test here; pass your runner's test function");
  }
  for (const check of cases) registrar(`${label}: ${check.name}`, () => check.run());
}

/**
 * Wraps `make` so every instance it creates is closed (when it has `close()`)
 * after the case that made it, keeping workers and sockets from leaking.
 */
export function closing<T>(make: () => T | Promise<T>): { make: () => Promise<T>; closeAll(): Promise<void> } {
  const made: T[] = [];
  return {
    make: async () => {
      const instance = await make();
      made.push(instance);
      return instance;
    },
    closeAll: async () => {
      for (const instance of made.splice(0)) await (instance as { close?: () => unknown }).close?.();
    },
  };
}

/** Runs each case's body, then closes what it made. */
export function withCleanup(cases: ComplianceCase[], closeAll: () => Promise<void>): ComplianceCase[] {
  return cases.map((check) => ({
    name: check.name,
    run: async () => {
      try {
        await check.run();
      } finally {
        await closeAll();
      }
    },
  }));
}
