/**
 * The consensus compliance suite: every consensus engine elects one leader,
 * commits proposals and applies them in the same order on every replica,
 * refuses proposals where it cannot take them (naming the leader), serves
 * linearizable reads, snapshots without losing state, reports its stats,
 * rejects calls once closed, and executes a command with a client identity
 * at most once (across retries, a leader change, and a snapshot restored
 * after a restart; see `consensus_dedup.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConsensusError } from "../core/contracts/consensus.ts";
import { stepUntil, stepUntilSettled } from "./advance.ts";
import type { ComplianceCase } from "./case.ts";
import { deduplicationCases } from "./consensus_dedup.ts";
import { type ConsensusCluster, type ConsensusHarness, RecordingMachine } from "./consensus_cluster.ts";

export { RecordingMachine };
export type { ConsensusCluster, ConsensusHarness };

const encoder = new TextEncoder();

/**
 * The cases, for `runCompliance`.
 *
 * @example
 * ```ts ignore
 * import { consensusCompliance, runCompliance } from "@switchyard/hybrid/testing";
 * runCompliance("my-engine", consensusCompliance({ cluster: (machines) => startMyCluster(machines) }));
 * ```
 */
export function consensusCompliance(harness: ConsensusHarness): ComplianceCase[] {
  const stepMs = harness.stepMs ?? 10;
  const patienceMs = harness.patienceMs ?? 10_000;

  async function withCluster(
    size: number,
    body: (cluster: ConsensusCluster, machines: RecordingMachine[]) => Promise<void>,
  ) {
    const machines = Array.from({ length: size }, () => new RecordingMachine());
    const cluster = await harness.cluster(machines);
    try {
      await body(cluster, machines);
    } finally {
      await cluster.close();
    }
  }

  const maxSteps = Math.floor(patienceMs / stepMs) + 1;

  function until(cluster: ConsensusCluster, what: string, done: () => boolean): Promise<void> {
    return stepUntil(() => cluster.advance(stepMs), done, maxSteps, `waited ${patienceMs} ms for ${what}`);
  }

  function settle<T>(cluster: ConsensusCluster, what: string, promise: Promise<T>): Promise<T> {
    return stepUntilSettled(() => cluster.advance(stepMs), promise, maxSteps, `waited ${patienceMs} ms for ${what}`);
  }

  async function leaderOf(cluster: ConsensusCluster): Promise<number> {
    await until(cluster, "a leader", () => cluster.replicas.some((replica) => replica.stats().role === "leader"));
    return cluster.replicas.findIndex((replica) => replica.stats().role === "leader");
  }

  /** The leader's index, once every replica names it as leader. */
  async function leaderKnownToAll(cluster: ConsensusCluster): Promise<number> {
    const leader = await leaderOf(cluster);
    const leaderId = cluster.replicas[leader].stats().nodeId;
    await until(
      cluster,
      "every replica to know the leader",
      () => cluster.replicas.every((replica) => replica.stats().leaderId === leaderId),
    );
    return leader;
  }

  /**
   * Makes replica `to` the one to propose at next: a leadership transfer
   * where the engine has leaders, nothing where every replica takes proposals.
   */
  async function moveProposalsTo(cluster: ConsensusCluster, from: number, to: number): Promise<void> {
    if (harness.proposalsAnywhere) return;
    const target = cluster.replicas[to].stats().nodeId;
    await settle(cluster, "the leader change", cluster.replicas[from].transferLeadership(target));
    await until(cluster, "the new leader", () => cluster.replicas[to].stats().role === "leader");
  }

  const kit = { stepMs, withCluster, until, settle, leaderOf, leaderKnownToAll, moveProposalsTo };
  return [
    {
      name: "elects exactly one leader, which every replica follows",
      run: () =>
        withCluster(3, async (cluster) => {
          await leaderKnownToAll(cluster);
          assert.equal(cluster.replicas.filter((replica) => replica.stats().role === "leader").length, 1);
        }),
    },
    {
      name: "commits proposals and applies them in the same order on every replica",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leader = cluster.replicas[await leaderOf(cluster)];
          const commands = Array.from({ length: 20 }, (_, i) => `cmd-${i}`);
          const committed = await settle(
            cluster,
            "20 proposals",
            Promise.all(commands.map((command) => leader.propose(encoder.encode(command)))),
          );
          const indices = committed.map((position) => position.index);
          assert.deepEqual(indices, [...indices].sort((a, b) => a - b), "indices follow proposal order");
          assert.deepEqual(committed.map((position) => position.result), commands.map((_, i) => i + 1));
          await until(cluster, "every replica to apply", () => machines.every((m) => m.commands.length === 20));
          for (const machine of machines) assert.deepEqual(machine.commands, commands);
        }),
    },
    harness.proposalsAnywhere
      ? {
        name: "takes a proposal at any replica and applies it everywhere",
        run: () =>
          withCluster(3, async (cluster, machines) => {
            const leaderIndex = await leaderKnownToAll(cluster);
            const follower = cluster.replicas[(leaderIndex + 1) % 3];
            const committed = await settle(cluster, "a proposal at a follower", follower.propose(encoder.encode("f")));
            assert.equal(committed.result, 1);
            await until(cluster, "every replica to apply", () => machines.every((m) => m.commands.length === 1));
          }),
      }
      : {
        name: "refuses a proposal it cannot take with NOT_LEADER naming the leader",
        run: () =>
          withCluster(3, async (cluster) => {
            const leaderIndex = await leaderKnownToAll(cluster);
            const leaderId = cluster.replicas[leaderIndex].stats().nodeId;
            const follower = cluster.replicas[(leaderIndex + 1) % 3];
            await assert.rejects(
              settle(cluster, "the refusal", follower.propose(encoder.encode("x"))),
              (error) =>
                error instanceof ConsensusError && error.code === "NOT_LEADER" && error.leaderHint === leaderId,
            );
          }),
      },
    {
      name: "a read on the leader reflects every write committed before it",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leaderIndex = await leaderOf(cluster);
          const leader = cluster.replicas[leaderIndex];
          await settle(cluster, "a write", leader.propose(encoder.encode("w1")));
          await settle(cluster, "a read", leader.read());
          assert.deepEqual(machines[leaderIndex].commands, ["w1"]);
        }),
    },
    {
      name: "snapshots without changing the state, and reports consistent stats",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leaderIndex = await leaderOf(cluster);
          const leader = cluster.replicas[leaderIndex];
          for (let i = 0; i < 5; i++) await settle(cluster, "a write", leader.propose(encoder.encode(`s${i}`)));
          const position = await settle(cluster, "a snapshot", leader.snapshot());
          assert.ok(position.index >= 5, `snapshot at ${position.index} covers the 5 writes`);
          assert.deepEqual(machines[leaderIndex].commands, ["s0", "s1", "s2", "s3", "s4"]);
          const stats = leader.stats();
          assert.equal(stats.engine, leader.name);
          assert.equal(stats.members.length, 3);
          assert.ok(stats.snapshotIndex >= position.index);
          assert.ok(stats.commitIndex >= stats.appliedIndex && stats.appliedIndex >= stats.snapshotIndex);
          assert.equal(stats.healthy, true);
          await settle(cluster, "a write after the snapshot", leader.propose(encoder.encode("after")));
          await until(cluster, "replication", () => machines.every((m) => m.commands.at(-1) === "after"));
        }),
    },
    {
      name: "rejects calls with CONSENSUS_CLOSED once closed",
      run: () =>
        withCluster(1, async (cluster) => {
          await leaderOf(cluster);
          const [replica] = cluster.replicas;
          await replica.close();
          await assert.rejects(
            replica.propose(encoder.encode("late")),
            (error) => error instanceof ConsensusError && error.code === "CONSENSUS_CLOSED",
          );
          await assert.rejects(replica.read(), (error) =>
            error instanceof ConsensusError && error.code === "CONSENSUS_CLOSED");
        }),
    },
    ...deduplicationCases(kit),
  ];
}
