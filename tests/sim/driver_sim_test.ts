import assert from "node:assert/strict";
import { runSeeds } from "./run.ts";

Deno.test("raft driver on the memory transport: 50 seeded schedules of delay, jitter, loss and crashes stay linearizable", async () => {
  const lines: string[] = [];
  const { failing } = await runSeeds("raft-driver", 1, 50, (line) => lines.push(line));
  assert.deepEqual(failing, [], lines.join("\n"));
});
