// The plugin compliance suite with its defaults gives a plugin time that
// moves: a correct plugin that times through `context.clock` (as every plugin
// should) passes, instead of waiting forever on a clock nobody advances.
import assert from "node:assert/strict";
import { type Compressor, definePlugin, ManualClock, sleep } from "../../mod.ts";
import { type ComplianceCase, pluginCompliance } from "../../testing/mod.ts";
import { noneCompressor } from "../../plugins/compress-none/mod.ts";

const ALL = ["datacenter", "internet", "hybrid"] as const;
const compat = { core: "^0.1.0", runtimes: ["deno", "bun", "node"] } as const;

/** A probe that waits 5 ms on `context.clock` before each measurement, as a pacing probe would. */
const pacedProbe = definePlugin({
  id: "paced-probe",
  version: "1.0.0",
  kind: "probe",
  modes: ALL,
  provides: ["probe:paced"],
  compat,
  create: (context) => ({
    name: "paced",
    async measure(signal?: AbortSignal) {
      const startedMs = context.clock.now();
      await sleep(context.clock, 5, signal);
      return { rttMs: context.clock.now() - startedMs };
    },
  }),
});

/** A compressor that batches for 1 ms on `context.clock` (a timer set with `context.clock.setTimeout`). */
const batchingCompressor = definePlugin({
  id: "batching-compressor",
  version: "1.0.0",
  kind: "compressor",
  modes: ALL,
  provides: ["compressor:batching"],
  compat,
  create: (context): Compressor => {
    const inner = noneCompressor();
    const batchWindow = () => new Promise<void>((resolve) => context.clock.setTimeout(resolve, 1));
    return {
      codec: inner.codec,
      compress: async (data) => (await batchWindow(), await inner.compress(data)),
      decompress: (frame) => inner.decompress(frame),
    };
  },
});

/** Runs every case, each bounded in real time so that a case waiting forever fails instead of hanging. */
async function runAll(cases: ComplianceCase[], boundMs = 20_000): Promise<string[]> {
  const outcomes: string[] = [];
  for (const check of cases) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<string>((resolve) => timer = setTimeout(() => resolve("never finished"), boundMs));
    const outcome = await Promise.race([check.run().then(() => "passed", (error) => `failed: ${error}`), bound]);
    clearTimeout(timer);
    outcomes.push(`${check.name}: ${outcome}`);
  }
  return outcomes;
}

const allPassed = (outcomes: string[]) => outcomes.filter((outcome) => !outcome.endsWith(": passed"));

Deno.test("compliance clock: a probe timing through context.clock passes the suite with its defaults", async () => {
  const outcomes = await runAll(pluginCompliance(pacedProbe));
  assert.ok(outcomes.length >= 5, outcomes.join("\n"));
  assert.deepEqual(allPassed(outcomes), []);
});

Deno.test("compliance clock: a compressor timing through context.clock passes the suite with its defaults", async () => {
  const outcomes = await runAll(pluginCompliance(batchingCompressor));
  assert.ok(outcomes.length >= 9, outcomes.join("\n"));
  assert.deepEqual(allPassed(outcomes), []);
});

Deno.test("compliance clock: a clock passed in is the caller's to advance", async () => {
  const clock = new ManualClock();
  const [, contract, ...suite] = pluginCompliance(pacedProbe, {}, { clock });
  await contract.run(); // creating the probe needs no time
  const samples = suite.find((check) => check.name.startsWith("returns valid samples"))!;
  let done = false;
  const running = samples.run().then(() => done = true);
  await clock.advance(4);
  assert.equal(done, false, "no sample before 5 ms of the caller's time");
  for (let step = 0; step < 10 && !done; step++) await clock.advance(5);
  await running;
  assert.equal(done, true);
});
