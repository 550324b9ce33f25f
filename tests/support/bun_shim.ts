/**
 * Lets `bun test` run the same `Deno.test` files: preloaded by bunfig.toml,
 * it defines a minimal `Deno.test` on top of `bun:test`. Under Deno this file
 * is never loaded.
 *
 * @module
 */

type TestFn = (t: { name: string; step: StepFn }) => unknown;
type StepFn = (name: string, fn: TestFn) => Promise<boolean>;
interface TestOptions {
  name: string;
  fn?: TestFn;
  ignore?: boolean;
  only?: boolean;
  [key: string]: unknown;
}
interface BunTest {
  test: ((name: string, fn: () => unknown, timeoutMs?: number) => void) & {
    skip: (name: string, fn: () => unknown) => void;
  };
}

const bun = await import("bun:" + "test") as BunTest;
const TIMEOUT_MS = 120_000;

function context(name: string): { name: string; step: StepFn } {
  return {
    name,
    step: async (stepName, fn) => {
      await fn(context(`${name} > ${stepName}`));
      return true;
    },
  };
}

function register(nameOrOptions: string | TestOptions, optionsOrFn?: TestFn | Partial<TestOptions>, maybeFn?: TestFn) {
  const options: TestOptions = typeof nameOrOptions === "string"
    ? {
      name: nameOrOptions,
      ...(typeof optionsOrFn === "function" ? { fn: optionsOrFn } : { ...optionsOrFn, fn: maybeFn }),
    }
    : nameOrOptions;
  const fn = options.fn;
  if (!fn) throw new Error(`Deno.test shim: test "${options.name}" has no function`);
  if (options.ignore) bun.test.skip(options.name, () => {});
  else bun.test(options.name, () => fn(context(options.name)), TIMEOUT_MS);
}

const globals = globalThis as unknown as { Deno?: { test?: unknown } };
if (globals.Deno === undefined) globals.Deno = { test: register };
