/**
 * Command-line parsing shared by the project's programs (the `switchyard`
 * CLI, the local cluster, the simulator runner): `node:util`'s `parseArgs` in strict mode, `--help`
 * printing the usage and exiting 0, and any unknown option or bad value
 * printing one line that names it, a hint, and exiting 2, instead of a
 * stack trace. Runtime-neutral: `node:process` for the arguments and exit.
 *
 * @module
 */
import process from "node:process";

/** Exit code for bad usage (unknown option, bad value, missing argument). */
export const EXIT_USAGE = 2;

/** Exit code for a command that ran and failed (a node refused, could not be reached, did not start). */
export const EXIT_FAILED = 1;

/** Prints `program: message` and a pointer to `--help` on stderr, then exits with {@linkcode EXIT_USAGE}. */
export function usageError(program: string, message: string): never {
  console.error(`${program}: ${message}`);
  console.error("(run with --help for usage)");
  process.exit(EXIT_USAGE);
}

/** The first sentence of a `parseArgs` error, with a hint for values that start with a dash. */
function describe(error: Error & { code?: string }): string {
  const first = error.message.split("\n")[0];
  const sentence = first.includes(". ") ? first.slice(0, first.indexOf(". ")) : first.replace(/\.$/, "");
  const ambiguous = /^Option '(--?[^' ]+)' argument is ambiguous/.exec(first);
  return ambiguous ? `${sentence} (for a value starting with "-", write ${ambiguous[1]}=VALUE)` : sentence;
}

/** The `--help` option every program takes; add it to the options given to `parseArgs`. */
export const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

/**
 * Runs `parse` (a strict `parseArgs` call whose options include
 * {@linkcode HELP_OPTION}) on `args`: prints `usage` and exits 0 for
 * `--help`; for a parse error prints one line naming the option and exits
 * {@linkcode EXIT_USAGE}.
 */
export function parseCommandLine<R extends { values: { help?: boolean } }>(
  program: string,
  usage: string,
  parse: (args: string[]) => R,
  args: string[] = process.argv.slice(2),
): R {
  let parsed: R;
  try {
    parsed = parse(args);
  } catch (error) {
    if (error instanceof TypeError && String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
      usageError(program, describe(error));
    }
    throw error;
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}
