/**
 * `deno task test:mutants`: plants each known bug of the catalogue in its own
 * scratch copy of the repository (the files `git ls-files` lists, plus
 * untracked ones not ignored, as they are in the working tree) and runs the
 * tests there: the files the mutant names first, then, when they all pass, the
 * whole default Deno test run (each stopping at its first failure). A mutant is
 * caught when a test fails; missed when every test of the default run passes; stale when its snippet is gone; an error when the
 * run failed without a failing test (a type error, say) or timed out. Anything
 * but caught fails the mutation run.
 *
 * ```sh
 * deno task test:mutants                      # every mutant, sequentially
 * deno task test:mutants --list               # names and descriptions
 * deno task test:mutants --only vote-before-fsync --only ack-before-fsync
 * ```
 *
 * Deno only: it spawns `deno test`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { MUTANTS } from "./catalogue.ts";
import { applyMutant, type Mutant } from "./mutant.ts";

/** How one mutant fared. */
export type Verdict = "caught" | "missed" | "stale" | "error";

/** One row of the table. */
export interface MutantResult {
  /** The mutant. */
  name: string;
  /** The verdict. */
  verdict: Verdict;
  /** The failing tests (caught), or why it is stale or an error. */
  detail: string[];
  /** Wall time of its test run. */
  seconds: number;
}

const HELP = `deno task test:mutants [options]

Applies each known bug in tests/mutants/catalogue.ts to a scratch copy of the
repository and runs the tests there: first the files the mutant names (its
"tests"), then, if they all pass, the whole default run (deno test --allow-all),
each stopping at the first failure. First
the unmutated tree runs once: a test failing there does not count as catching a
mutant, and makes the exit code 1 too. Every mutant must be caught (a test that
passes unmutated fails); a missed, stale or erroring mutant makes the exit code 1.

Options:
  --list               print the mutants and exit
  --only NAME          run only this mutant (repeatable)
  --timeout-ms MS      per-mutant limit of the test run (default 600000)
  --files PATHS        development aid: test only these files (space-separated)
                       instead of the whole default run
  --keep               keep the scratch copies (their paths are printed)
  --skip-baseline      do not run the unmutated tree first (its failing tests,
                       which cannot tell a mutant apart, are then not known)
  --help               this text
`;

/** The failing test names from `deno test` output (its FAILURES section). */
export function failingTests(output: string): string[] {
  const section = output.lastIndexOf(" FAILURES ");
  if (section < 0) return [];
  const names: string[] = [];
  for (const line of output.slice(section).split("\n").slice(1)) {
    const arrow = line.lastIndexOf(" => ");
    if (arrow > 0) names.push(`${line.slice(0, arrow)} (${line.slice(arrow + 4).trim()})`);
    else if (/^(FAILED|ok) \|/.test(line.trim())) break;
  }
  return names;
}

/** The first failing simulation seed and what it found, when a simulation test failed. */
export function simulationEvidence(output: string): string[] {
  const match = /seed (\d+) FAILED[^\n]*\n\s*([^\n]+)/.exec(output);
  return match ? [`first failing seed ${match[1]}: ${match[2].trim()}`] : [];
}

/**
 * Decides a verdict from a test run's exit status and output. Tests in
 * `baseline` fail without any mutant too (see the baseline run), so they do not
 * count as catching it.
 */
export function verdictOf(
  success: boolean,
  timedOut: boolean,
  output: string,
  baseline: ReadonlySet<string> = new Set(),
): { verdict: Verdict; detail: string[] } {
  if (timedOut) return { verdict: "error", detail: ["the test run timed out (a hang must become a failure)"] };
  if (success) return { verdict: "missed", detail: ["every test passed"] };
  const failing = failingTests(output);
  const caughtBy = failing.filter((name) => !baseline.has(name));
  if (caughtBy.length > 0) return { verdict: "caught", detail: [...caughtBy, ...simulationEvidence(output)] };
  if (failing.length > 0) {
    return { verdict: "missed", detail: ["only tests that fail without the mutant too failed"] };
  }
  const firstError = output.split("\n").find((line) => line.startsWith("error")) ?? "no failing test reported";
  return { verdict: "error", detail: [`the run failed without a failing test: ${firstError.slice(0, 200)}`] };
}

async function git(root: string, ...args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command("git", { args, cwd: root }).output();
  if (!success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** Copies the repository's files (not tests/mutants itself: the tool is not under test) into a new directory. */
async function scratchCopy(root: string): Promise<string> {
  const listed = await git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard");
  const dir = await Deno.makeTempDir({ prefix: "switchyard-mutant-" });
  try {
    await copyInto(root, dir, listed.split("\0").filter(Boolean));
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return dir;
}

/** Copies `paths` (regular files only; tests/mutants and node_modules left out) from `root` into `dir`. */
async function copyInto(root: string, dir: string, paths: string[]): Promise<void> {
  for (const path of new Set(paths)) {
    if (path.startsWith("tests/mutants/") || path === "node_modules" || path.startsWith("node_modules/")) continue;
    let data: Uint8Array;
    try {
      if (!(await Deno.lstat(`${root}/${path}`)).isFile) continue; // a link or a directory (a node_modules link)
      data = await Deno.readFile(`${root}/${path}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue; // deleted in the working tree
      throw error;
    }
    const target = `${dir}/${path}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(target, data);
  }
  // npm packages are not in git; share the installed ones.
  try {
    await Deno.symlink(`${root}/node_modules`, `${dir}/node_modules`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** How one test run went. */
interface TestRun {
  success: boolean;
  timedOut: boolean;
  output: string;
  seconds: number;
}

/** Runs the default test run (or `files`) in a scratch copy of `root`, with `patch` applied to one file. */
async function testRun(
  root: string,
  patch: { file: string; text: string } | undefined,
  options: {
    timeoutMs: number;
    files: readonly string[];
    keep: boolean;
    log: (line: string) => void;
    label: string;
    failFast?: boolean;
  },
): Promise<TestRun> {
  const started = performance.now();
  const dir = await scratchCopy(root);
  try {
    if (patch) await Deno.writeTextFile(`${dir}/${patch.file}`, patch.text);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "--allow-all", ...(options.failFast ? ["--fail-fast"] : []), ...options.files],
      cwd: dir,
      env: { NO_COLOR: "1", SWITCHYARD_MUTANT: options.label },
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).spawn();
    const { success, stdout, stderr } = await child.output();
    clearTimeout(timer);
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    if (options.keep) {
      await Deno.writeTextFile(`${dir}/mutant-output.txt`, output);
      options.log(`  kept ${dir}`);
    }
    return { success, timedOut, output, seconds: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    if (!options.keep) await Deno.remove(dir, { recursive: true });
  }
}

/** The tests that fail in the unmutated tree (they cannot tell a mutant apart), and how long the run took. */
export async function runBaseline(
  root: string,
  options: { timeoutMs: number; files: string[]; keep: boolean; log: (line: string) => void },
): Promise<{ failing: string[]; seconds: number; timedOut: boolean }> {
  const run = await testRun(root, undefined, { ...options, label: "baseline" });
  const failing = run.success ? [] : failingTests(run.output);
  if (!run.success && failing.length === 0 && !run.timedOut) failing.push("(the run failed without a failing test)");
  return { failing, seconds: run.seconds, timedOut: run.timedOut };
}

/** Plants `mutant` in a scratch copy and runs the tests there. */
export async function runMutant(
  root: string,
  mutant: Mutant,
  options: { timeoutMs: number; files: string[]; keep: boolean; log: (line: string) => void },
  baseline: ReadonlySet<string> = new Set(),
): Promise<MutantResult> {
  let source: string;
  try {
    source = await Deno.readTextFile(`${root}/${mutant.file}`);
  } catch (error) {
    return { name: mutant.name, verdict: "stale", detail: [`${mutant.file}: ${(error as Error).message}`], seconds: 0 };
  }
  const applied = applyMutant(source, mutant);
  if (!applied.ok) {
    return { name: mutant.name, verdict: "stale", detail: [`${mutant.file}: ${applied.reason}`], seconds: 0 };
  }
  const patch = { file: mutant.file, text: applied.text };
  let seconds = 0;
  if (options.files.length === 0 && mutant.tests && mutant.tests.length > 0) {
    // The focused files are part of the default run: a failure there is a
    // failure of the default run, found sooner.
    const focused = await testRun(root, patch, {
      ...options,
      files: mutant.tests,
      label: mutant.name,
      failFast: true,
    });
    seconds += focused.seconds;
    const verdict = verdictOf(focused.success, focused.timedOut, focused.output, baseline);
    if (verdict.verdict !== "missed") return { name: mutant.name, ...verdict, seconds };
  }
  const run = await testRun(root, patch, { ...options, label: mutant.name, failFast: true });
  seconds += run.seconds;
  return { name: mutant.name, ...verdictOf(run.success, run.timedOut, run.output, baseline), seconds };
}

/** The results as a plain-text table: verdict, the first failing test (of how many), what it found, time. */
export function table(results: readonly MutantResult[]): string {
  const rows = results.map((r) => {
    const tests = r.verdict === "caught" ? r.detail.filter((line) => !line.startsWith("first failing seed")) : [];
    const evidence = r.detail.find((line) => line.startsWith("first failing seed")) ?? "";
    const test = tests.length > 0 ? `${tests[0].replace(/ \(\.\/.*\)$/, "")} (${tests.length} failed)` : "";
    return [
      r.name,
      r.verdict.toUpperCase(),
      test,
      r.verdict === "caught" ? evidence : r.detail[0] ?? "",
      `${r.seconds.toFixed(1)} s`,
    ];
  });
  const header = ["mutant", "verdict", "failing test", "evidence / reason", "time"];
  const clip = (cell: string) => (cell.length > 90 ? `${cell.slice(0, 89)}…` : cell);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => clip(row[i]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => clip(cell).padEnd(widths[i])).join(" | ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      list: { type: "boolean", default: false },
      only: { type: "string", multiple: true },
      "timeout-ms": { type: "string", default: "600000" },
      files: { type: "string" },
      keep: { type: "boolean", default: false },
      "skip-baseline": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  if (values.list) {
    for (const mutant of MUTANTS) {
      console.log(`${mutant.name}  (${mutant.file})\n  ${mutant.description}\n  caught by: ${mutant.caughtBy}`);
    }
    Deno.exit(0);
  }
  const only = values.only ?? [];
  const unknown = only.filter((name) => !MUTANTS.some((mutant) => mutant.name === name));
  if (unknown.length > 0) {
    console.error(`unknown mutant(s): ${unknown.join(", ")}; --list shows them`);
    Deno.exit(2);
  }
  const timeoutMs = Number(values["timeout-ms"]);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    console.error(`--timeout-ms must be a positive number of milliseconds, got ${values["timeout-ms"]}`);
    Deno.exit(2);
  }
  const files = values.files?.split(/\s+/).filter(Boolean) ?? [];
  const root = (await git(Deno.cwd(), "rev-parse", "--show-toplevel")).trim();
  const chosen = only.length > 0 ? MUTANTS.filter((mutant) => only.includes(mutant.name)) : MUTANTS;
  const started = performance.now();
  const results: MutantResult[] = [];
  if (files.length > 0) console.log(`(testing only ${files.join(" ")}, not the whole default run)`);
  const runOptions = { timeoutMs, files, keep: values.keep, log: console.log };
  let baselineFailures: string[] = [];
  if (!values["skip-baseline"]) {
    const baseline = await runBaseline(root, runOptions);
    baselineFailures = baseline.failing;
    console.log(
      baseline.timedOut
        ? `baseline: the unmutated run timed out after ${baseline.seconds.toFixed(1)} s`
        : `baseline: the unmutated run took ${
          baseline.seconds.toFixed(1)
        } s, ${baselineFailures.length} failing test(s)`,
    );
    for (const name of baselineFailures) console.log(`         ${name}`);
    if (baseline.timedOut) Deno.exit(1);
  }
  const baselineSet = new Set(baselineFailures);
  for (const mutant of chosen) {
    const result = await runMutant(root, mutant, runOptions, baselineSet);
    console.log(`${result.verdict.padEnd(6)} ${mutant.name} (${result.seconds.toFixed(1)} s)`);
    for (const line of result.detail.slice(0, 5)) console.log(`         ${line}`);
    results.push(result);
  }
  const minutes = ((performance.now() - started) / 60_000).toFixed(1);
  const bad = results.filter((result) => result.verdict !== "caught");
  console.log(`\n${table(results)}\n`);
  console.log(
    `${results.length - bad.length}/${results.length} mutants caught in ${minutes} min${
      bad.length > 0 ? `; not caught: ${bad.map((r) => `${r.name} (${r.verdict})`).join(", ")}` : ""
    }`,
  );
  if (baselineFailures.length > 0) {
    console.log(`the unmutated tree fails ${baselineFailures.length} test(s) (listed above): fix them first`);
  }
  Deno.exit(bad.length === 0 && baselineFailures.length === 0 ? 0 : 1);
}
