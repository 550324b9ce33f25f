// `deno task test:sim`'s arguments: --help prints the usage (exit 0); an
// unknown option or a bad value prints one line naming it (exit 2), no stack.
import assert from "node:assert/strict";
import { runProgram } from "../support/run_program.ts";

const sim = (args: string[]) => runProgram("tests/sim/run.ts", args);

Deno.test("test:sim --help prints the usage and exits 0", async () => {
  const result = await sim(["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^usage: deno task test:sim/);
  assert.match(result.stdout, /--seeds N/);
});

Deno.test("test:sim: an unknown option or a bad value exits 2 with one line naming it", async () => {
  for (
    const [args, pattern] of [
      [["--frobnicate"], /--frobnicate/],
      [["--seeds", "many"], /--seeds must be an integer of at least 1, got "many"/],
      [["--seeds", "0"], /--seeds must be an integer of at least 1/],
      [["--seed", "1.5"], /--seed must be an integer, got "1.5"/],
      [["--engine", "paxos"], /unknown engine "paxos"; available: raft/],
      [["--seeds"], /--seeds/],
    ] as const
  ) {
    const result = await sim([...args]);
    assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    const [first, hint] = result.stderr.trim().split("\n");
    assert.match(first, pattern);
    assert.match(hint, /--help/);
    assert.doesNotMatch(result.stderr, /TypeError|\n\s+at /, "no stack trace");
  }
});
