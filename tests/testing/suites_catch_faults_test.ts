// The compliance suites must fail for broken plugins, or they prove nothing.
import assert from "node:assert/strict";
import { type Compressor, framedCompressor } from "../../core/contracts/compressor.ts";
import type { Probe } from "../../core/contracts/probe.ts";
import { compressorCompliance, consensusCompliance, probeCompliance } from "../../testing/mod.ts";
import type { ConsensusCluster } from "../../testing/mod.ts";
import {
  type Consensus,
  ConsensusError,
  type ConsensusStateMachine,
  type ConsensusStats,
} from "../../core/contracts/consensus.ts";
import { lockstepCluster } from "../support/lockstep_consensus.ts";

async function failingCases(cases: { name: string; run(): Promise<void> }[]): Promise<string[]> {
  const failed: string[] = [];
  for (const check of cases) {
    try {
      await check.run();
    } catch {
      failed.push(check.name);
    }
  }
  return failed;
}

Deno.test("the compressor suite catches a codec that skips the checksum", async () => {
  const honest = framedCompressor({ name: "none", level: 0, encode: (d) => d, decode: (p) => p.slice() });
  const careless: Compressor = {
    codec: "none",
    compress: (data) => honest.compress(data),
    // Skips the header checks: returns whatever follows the header.
    decompress: (frame) => Promise.resolve(frame.slice(18 + frame[3])),
  };
  const failed = await failingCases(compressorCompliance(() => careless, { corruptionTrials: 50 }));
  assert.ok(failed.includes("never returns wrong data for a corrupted frame"), failed.join(", "));
  assert.ok(failed.includes("rejects a frame claiming more than the limit before decoding it"), failed.join(", "));
  assert.deepEqual(await failingCases(compressorCompliance(() => honest, { corruptionTrials: 50 })), []);
});

Deno.test("the compressor suite catches a codec that loses data", async () => {
  const lossy = framedCompressor({
    name: "lossy",
    level: 0,
    encode: (d) => d.subarray(0, d.length >> 1),
    decode: (p) => p,
  });
  const failed = await failingCases(compressorCompliance(() => lossy, { corruptionTrials: 10 }));
  assert.ok(failed.includes("round-trips every payload exactly"));
});

Deno.test("the probe suite catches invalid samples and ignored aborts", async () => {
  const negative: Probe = { name: "neg", measure: () => Promise.resolve({ rttMs: -1 }) };
  assert.deepEqual(await failingCases(probeCompliance(() => negative)), ["returns valid samples, repeatedly"]);
  const deaf: Probe = { name: "deaf", measure: () => new Promise(() => {}) };
  const failed = await failingCases(
    probeCompliance(() => ({ ...deaf, measure: (s) => s?.aborted ? deaf.measure() : Promise.resolve({ rttMs: 1 }) }), {
      abortSettleMs: 20,
    }),
  );
  assert.deepEqual(failed, ["settles promptly when its signal is already aborted"]);
});

const DEDUPLICATION_CASES = [
  "a command retried with its client identity executes once and answers with the original result",
  "two proposals of one identity at once are both answered alike, and applied once",
  "an older sequence is refused with STALE_REQUEST, an unknown client past 1 with UNKNOWN_CLIENT",
  "a bad client identity is refused with INVALID_ARGUMENT naming the field",
  "a retry at a new leader (or another replica) is answered from the client table, not applied again",
  "a replica restarted from a snapshot still deduplicates: the table is part of the snapshot",
];

/** A "consensus" whose replicas never talk: replica 0 calls itself leader and applies only locally. */
function unreplicatedCluster(
  machines: ConsensusStateMachine<number>[],
  options: { closeable: boolean },
): ConsensusCluster {
  const replicas = machines.map((machine, i): Consensus<number> => {
    let index = 0;
    let closed = false;
    const stats = (): ConsensusStats => ({
      engine: "unreplicated",
      nodeId: `r${i}`,
      role: i === 0 ? "leader" : "follower",
      term: 1,
      leaderId: "r0",
      members: machines.map((_, j) => `r${j}`),
      commitIndex: index,
      appliedIndex: index,
      snapshotIndex: 0,
      healthy: true,
    });
    return {
      name: "unreplicated",
      start: () => Promise.resolve(),
      propose(command) {
        if (closed && options.closeable) return Promise.reject(new ConsensusError("CONSENSUS_CLOSED", "closed"));
        if (i !== 0) return Promise.reject(new ConsensusError("NOT_LEADER", "follower", "r0"));
        index++;
        return Promise.resolve({ index, term: 1, result: machine.apply(command, { index, term: 1 }) });
      },
      read: () =>
        closed && options.closeable
          ? Promise.reject(new ConsensusError("CONSENSUS_CLOSED", "closed"))
          : Promise.resolve(),
      addMember: () => Promise.resolve(),
      removeMember: () => Promise.resolve(),
      transferLeadership: () => Promise.resolve(),
      snapshot: () => Promise.resolve({ index, term: 1 }),
      stats,
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    };
  });
  return { replicas, advance: () => Promise.resolve(), close: () => Promise.resolve() };
}

Deno.test("the consensus suite catches an engine that does not replicate, or keeps serving after close", async () => {
  const failed = await failingCases(
    consensusCompliance({
      cluster: (machines) => Promise.resolve(unreplicatedCluster(machines, { closeable: false })),
      patienceMs: 100,
    }),
  );
  assert.deepEqual(failed, [
    "commits proposals and applies them in the same order on every replica",
    "snapshots without changing the state, and reports consistent stats",
    "rejects calls with CONSENSUS_CLOSED once closed",
    ...DEDUPLICATION_CASES, // it ignores identities too
  ]);
});

Deno.test("the consensus suite passes an engine that applies through the deduplication layer", async () => {
  const suite = consensusCompliance({
    cluster: (machines) => Promise.resolve(lockstepCluster(machines, { deduplicate: true })),
    patienceMs: 100,
  });
  assert.ok(DEDUPLICATION_CASES.every((name) => suite.some((check) => check.name === name)));
  assert.deepEqual(await failingCases(suite), []);
});

Deno.test("the consensus suite catches an engine that ignores client identities", async () => {
  const failed = await failingCases(
    consensusCompliance({
      cluster: (machines) => Promise.resolve(lockstepCluster(machines, { deduplicate: false })),
      patienceMs: 100,
    }),
  );
  assert.deepEqual(failed, DEDUPLICATION_CASES);
});
