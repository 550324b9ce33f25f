/**
 * Runs seeded consensus schedules and prints every failing seed, which
 * replays exactly when rerun with `--seed`.
 *
 * ```sh
 * deno task test:sim --engine raft --seeds 2000          # seeds 1..2000
 * deno task test:sim --engine raft --seeds 500 --from 9000
 * deno task test:sim --engine raft --seed 1234 --verbose # replay one
 * deno task test:sim --engine raft --seed 1234 --trace   # and print every node's state each 50 ms
 * deno task test:sim --engine raft-driver --seeds 200    # the real driver on the memory transport
 * deno task test:sim --engine pbft --seeds 2000          # PBFT with Byzantine replicas
 * deno task test:sim --engine adaptive --seeds 500       # Raft ⇄ PBFT switches, the real engines
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { HELP_OPTION, parseCommandLine, usageError } from "../../runtime/cli/args.ts";
import { simulateAdaptive } from "./adaptive_sim.ts";
import { simulateRaftDriver } from "./driver_sim.ts";
import { type RaftSimResult, simulateRaft } from "./raft_sim.ts";
import { runPbftSimulation } from "./pbft/pbft_sim.ts";

/**
 * What the simulator can drive: `raft` is the pure state machine on the
 * discrete-event network; `raft-driver` the real driver on the memory
 * transport under a ManualClock; `pbft` the PBFT state machine with up to f
 * Byzantine replicas (`tests/sim/pbft/`); `adaptive` the adaptive engine
 * over the real Raft and PBFT drivers, switching both ways under faults.
 */
const ENGINES: Record<
  string,
  (seed: number, trace?: (line: string) => void) => RaftSimResult | Promise<RaftSimResult>
> = {
  raft: simulateRaft,
  "raft-driver": (seed) => simulateRaftDriver(seed),
  pbft: (seed, trace) => runPbftSimulation(seed, { trace }),
  adaptive: (seed) => simulateAdaptive(seed),
};

function engine(name: string) {
  const simulate = ENGINES[name];
  if (!simulate) throw new Error(`unknown engine "${name}"; available: ${Object.keys(ENGINES).join(", ")}`);
  return simulate;
}

/** A seed's failures, one line each (empty when it passed). */
export function failuresOf(result: RaftSimResult): string[] {
  const lines = [...result.violations];
  if (!result.linearizability.ok) {
    const { key, reason } = result.linearizability;
    lines.push(
      reason === "not linearizable"
        ? `history is not linearizable on key "${key}"`
        : `linearizability check of key "${key}" gave up: ${reason}`,
    );
  }
  return lines;
}

/** Runs seeds `from` … `from + count − 1` on `engine`; returns the failing seeds. */
export async function runSeeds(
  engineName: string,
  from: number,
  count: number,
  report: (line: string) => void = () => {},
): Promise<{ failing: number[]; results: number }> {
  const simulate = engine(engineName);
  const failing: number[] = [];
  for (let seed = from; seed < from + count; seed++) {
    let failures: string[];
    try {
      failures = failuresOf(await simulate(seed));
    } catch (error) {
      failures = [`the schedule threw: ${(error as Error).stack ?? error}`];
    }
    if (failures.length > 0) {
      failing.push(seed);
      report(`seed ${seed} FAILED (rerun: deno task test:sim --engine ${engineName} --seed ${seed} --verbose)`);
      for (const line of failures.slice(0, 10)) report(`  ${line}`);
    }
    const done = seed - from + 1;
    if (done % 100 === 0 || done === count) report(`${done}/${count} schedules, ${failing.length} failing`);
  }
  return { failing, results: count };
}

const USAGE = `usage: deno task test:sim [--engine ${Object.keys(ENGINES).join("|")}] [--seeds N] [--from N]
       deno task test:sim [--engine NAME] --seed N [--verbose] [--trace]

  --engine NAME  what to simulate (default raft)
  --seeds N      how many seeds to run (default 500), from --from (default 1)
  --seed N       replay one seed; --verbose prints its counts and history, --trace each node's state
  -h, --help     this text

exit codes: 0 every seed passed; 1 a seed failed; 2 bad usage`;

/** `--name`'s value as an integer (of at least `min`, when given), or a usage error naming the option. */
function integerOption(name: string, raw: string | undefined, min?: number): number {
  const value = raw === undefined || raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isInteger(value) || (min !== undefined && value < min)) {
    usageError(
      "test:sim",
      `--${name} must be an integer${min === undefined ? "" : ` of at least ${min}`}, got "${raw}"`,
    );
  }
  return value;
}

if (import.meta.main) {
  const { values } = parseCommandLine("test:sim", USAGE, (args) =>
    parseArgs({
      args,
      strict: true,
      options: {
        engine: { type: "string", default: "raft" },
        seeds: { type: "string", default: "500" },
        from: { type: "string", default: "1" },
        seed: { type: "string" },
        verbose: { type: "boolean", default: false },
        trace: { type: "boolean", default: false },
        ...HELP_OPTION,
      },
    }));
  const engineName = values.engine!;
  if (!(engineName in ENGINES)) {
    usageError("test:sim", `unknown engine "${engineName}"; available: ${Object.keys(ENGINES).join(", ")}`);
  }
  if (values.seed !== undefined) {
    const seed = integerOption("seed", values.seed);
    const result = await engine(engineName)(seed, values.trace ? (line) => console.log(line) : undefined);
    const failures = failuresOf(result);
    if (values.verbose) console.log(JSON.stringify(result.counts, null, 2));
    if (!result.linearizability.ok && values.verbose) {
      for (const op of result.linearizability.operations) console.log(JSON.stringify(op));
    }
    console.log(failures.length === 0 ? `seed ${seed}: ok` : `seed ${seed}: FAILED\n  ${failures.join("\n  ")}`);
    Deno.exit(failures.length === 0 ? 0 : 1);
  }
  const count = integerOption("seeds", values.seeds, 1);
  const from = integerOption("from", values.from);
  const started = performance.now();
  const { failing } = await runSeeds(engineName, from, count, (line) => console.log(line));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `${engineName}: ${count} schedules from seed ${from} in ${seconds} s; failing seeds: ${
      failing.join(", ") || "none"
    }`,
  );
  Deno.exit(failing.length === 0 ? 0 : 1);
}
