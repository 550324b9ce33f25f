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
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { simulateRaftDriver } from "./driver_sim.ts";
import { type RaftSimResult, simulateRaft } from "./raft_sim.ts";

/**
 * What the simulator can drive: `raft` is the pure state machine on the
 * discrete-event network; `raft-driver` the real driver on the memory
 * transport under a ManualClock.
 */
const ENGINES: Record<
  string,
  (seed: number, trace?: (line: string) => void) => RaftSimResult | Promise<RaftSimResult>
> = {
  raft: simulateRaft,
  "raft-driver": (seed) => simulateRaftDriver(seed),
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
    lines.push(`history is not linearizable on key "${result.linearizability.key}"`);
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
    const failures = failuresOf(await simulate(seed));
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

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      engine: { type: "string", default: "raft" },
      seeds: { type: "string", default: "500" },
      from: { type: "string", default: "1" },
      seed: { type: "string" },
      verbose: { type: "boolean", default: false },
      trace: { type: "boolean", default: false },
    },
  });
  const engineName = values.engine!;
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    const result = await engine(engineName)(seed, values.trace ? (line) => console.log(line) : undefined);
    const failures = failuresOf(result);
    if (values.verbose) console.log(JSON.stringify(result.counts, null, 2));
    if (!result.linearizability.ok && values.verbose) {
      for (const op of result.linearizability.operations) console.log(JSON.stringify(op));
    }
    console.log(failures.length === 0 ? `seed ${seed}: ok` : `seed ${seed}: FAILED\n  ${failures.join("\n  ")}`);
    Deno.exit(failures.length === 0 ? 0 : 1);
  }
  const count = Number(values.seeds);
  const from = Number(values.from);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--seeds must be a positive integer, got ${values.seeds}`);
  if (!Number.isInteger(from)) throw new Error(`--from must be an integer, got ${values.from}`);
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
