/**
 * The consensus suite's client-identity cases: a command proposed with a
 * client id and sequence executes at most once, however often it is
 * proposed — retried at the same replica, proposed twice at once, retried
 * at a new leader, or retried at a replica that restarted from a snapshot —
 * and a retry is answered with the original position and result. Older
 * sequences, unknown clients and bad identities are refused with their
 * codes, and nothing refused is applied.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConsensusError } from "../core/contracts/consensus.ts";
import { SwitchyardError } from "../core/util/errors.ts";
import type { ComplianceCase } from "./case.ts";
import { type ConsensusCluster, RecordingMachine } from "./consensus_cluster.ts";

/** What the suite's cases share (built by `consensusCompliance`). */
export interface ConsensusSuiteKit {
  /** Runs `body` on a fresh cluster of `size` replicas with recording machines. */
  withCluster(
    size: number,
    body: (cluster: ConsensusCluster, machines: RecordingMachine[]) => Promise<void>,
  ): Promise<void>;
  /** Steps time until `done()`. */
  until(cluster: ConsensusCluster, what: string, done: () => boolean): Promise<void>;
  /** Steps time until `promise` settles. */
  settle<T>(cluster: ConsensusCluster, what: string, promise: Promise<T>): Promise<T>;
  /** The leader's index. */
  leaderOf(cluster: ConsensusCluster): Promise<number>;
  /** The leader's index, once every replica follows it. */
  leaderKnownToAll(cluster: ConsensusCluster): Promise<number>;
  /** Makes replica `to` the one to propose at (a leadership transfer, where the engine has leaders). */
  moveProposalsTo(cluster: ConsensusCluster, from: number, to: number): Promise<void>;
}

const encoder = new TextEncoder();

function hasCode(code: string) {
  return (error: unknown) => error instanceof ConsensusError && error.code === code;
}

/** How many times `command` was applied on each machine. */
function counts(machines: RecordingMachine[], command: string): number[] {
  return machines.map((machine) => machine.commands.filter((applied) => applied === command).length);
}

/** The client-identity cases. */
export function deduplicationCases(kit: ConsensusSuiteKit): ComplianceCase[] {
  const { withCluster, until, settle, leaderOf, leaderKnownToAll, moveProposalsTo } = kit;
  const everyReplicaApplied = (cluster: ConsensusCluster, machines: RecordingMachine[], command: string) =>
    until(cluster, `every replica to apply ${command}`, () => counts(machines, command).every((count) => count > 0));

  return [
    {
      name: "a command retried with its client identity executes once and answers with the original result",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leader = cluster.replicas[await leaderOf(cluster)];
          const identity = { clientId: "client-a", sequence: 1 };
          await settle(cluster, "a write", leader.propose(encoder.encode("before"))); // anonymous commands still work
          const first = await settle(cluster, "the first attempt", leader.propose(encoder.encode("once"), identity));
          const retry = await settle(cluster, "the retry", leader.propose(encoder.encode("once"), identity));
          assert.equal(first.result, 2);
          assert.notEqual(first.duplicate, true);
          assert.deepEqual(
            { index: retry.index, term: retry.term, result: retry.result, duplicate: retry.duplicate },
            { index: first.index, term: first.term, result: first.result, duplicate: true },
            "the retry is answered with the original position and result",
          );
          const next = await settle(
            cluster,
            "the next command",
            leader.propose(encoder.encode("next"), { clientId: "client-a", sequence: 2 }),
          );
          assert.equal(next.result, 3);
          await everyReplicaApplied(cluster, machines, "next");
          for (const machine of machines) assert.deepEqual(machine.commands, ["before", "once", "next"]);
        }),
    },
    {
      name: "two proposals of one identity at once are both answered alike, and applied once",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leader = cluster.replicas[await leaderOf(cluster)];
          const identity = { clientId: "client-b", sequence: 7 };
          await settle(
            cluster,
            "the client's first",
            leader.propose(encoder.encode("b1"), { ...identity, sequence: 1 }),
          );
          const both = await settle(
            cluster,
            "both proposals",
            Promise.all([1, 2].map(() => leader.propose(encoder.encode("twice"), identity))),
          );
          assert.deepEqual(both.map((committed) => committed.result), [2, 2]);
          assert.equal(both[0].index, both[1].index);
          assert.equal(both.filter((committed) => committed.duplicate).length, 1);
          await everyReplicaApplied(cluster, machines, "twice");
          assert.deepEqual(counts(machines, "twice"), [1, 1, 1]);
        }),
    },
    {
      name: "an older sequence is refused with STALE_REQUEST, an unknown client past 1 with UNKNOWN_CLIENT",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leader = cluster.replicas[await leaderOf(cluster)];
          await settle(cluster, "sequence 1", leader.propose(encoder.encode("s1"), { clientId: "c", sequence: 1 }));
          await settle(cluster, "sequence 5", leader.propose(encoder.encode("s5"), { clientId: "c", sequence: 5 }));
          await assert.rejects(
            settle(cluster, "sequence 1 again", leader.propose(encoder.encode("s1"), { clientId: "c", sequence: 1 })),
            hasCode("STALE_REQUEST"),
          );
          await assert.rejects(
            settle(cluster, "an unknown client", leader.propose(encoder.encode("u"), { clientId: "new", sequence: 3 })),
            hasCode("UNKNOWN_CLIENT"),
          );
          await settle(cluster, "a marker", leader.propose(encoder.encode("end")));
          await everyReplicaApplied(cluster, machines, "end");
          for (const machine of machines) assert.deepEqual(machine.commands, ["s1", "s5", "end"]);
        }),
    },
    {
      name: "a bad client identity is refused with INVALID_ARGUMENT naming the field",
      run: () =>
        withCluster(1, async (cluster, machines) => {
          const [replica] = cluster.replicas;
          await leaderOf(cluster);
          const cases: [Record<string, unknown>, string][] = [
            [{ clientId: "", sequence: 1 }, "clientId"],
            [{ clientId: "c", sequence: 0 }, "sequence"],
            [{ clientId: "c", sequence: 1.5 }, "sequence"],
            [{ clientId: "c" }, "sequence"],
            [{ sequence: 1 }, "clientId"],
          ];
          for (const [options, field] of cases) {
            await assert.rejects(
              settle(cluster, "the refusal", replica.propose(encoder.encode("bad"), options)),
              (error) =>
                error instanceof SwitchyardError && error.code === "INVALID_ARGUMENT" &&
                error.message.includes(field),
              JSON.stringify(options),
            );
          }
          await settle(
            cluster,
            "a good write",
            replica.propose(encoder.encode("good"), { clientId: "c", sequence: 1 }),
          );
          assert.deepEqual(machines[0].commands, ["good"]);
        }),
    },
    {
      name: "a retry at a new leader (or another replica) is answered from the client table, not applied again",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          const leaderIndex = await leaderKnownToAll(cluster);
          const identity = { clientId: "client-c", sequence: 1 };
          const first = await settle(
            cluster,
            "the first attempt",
            cluster.replicas[leaderIndex].propose(encoder.encode("moved"), identity),
          );
          const successor = (leaderIndex + 1) % 3;
          await moveProposalsTo(cluster, leaderIndex, successor);
          const retry = await settle(
            cluster,
            "the retry at the new leader",
            cluster.replicas[successor].propose(encoder.encode("moved"), identity),
          );
          assert.deepEqual([retry.index, retry.result, retry.duplicate], [first.index, first.result, true]);
          await settle(cluster, "a marker", cluster.replicas[successor].propose(encoder.encode("end")));
          await everyReplicaApplied(cluster, machines, "end");
          assert.deepEqual(counts(machines, "moved"), [1, 1, 1]);
        }),
    },
    {
      name: "a replica restarted from a snapshot still deduplicates: the table is part of the snapshot",
      run: () =>
        withCluster(3, async (cluster, machines) => {
          if (!cluster.restart) assert.fail("the harness's cluster has no restart(index, machine): cannot check this");
          const leaderIndex = await leaderKnownToAll(cluster);
          const leader = cluster.replicas[leaderIndex];
          const identity = { clientId: "client-d", sequence: 1 };
          const first = await settle(cluster, "the first attempt", leader.propose(encoder.encode("kept"), identity));
          await settle(cluster, "a later write", leader.propose(encoder.encode("s2"), { ...identity, sequence: 2 }));
          await everyReplicaApplied(cluster, machines, "s2");
          for (const replica of cluster.replicas) await settle(cluster, "a snapshot", replica.snapshot());
          const follower = (leaderIndex + 1) % 3;
          const fresh = new RecordingMachine();
          await cluster.restart(follower, fresh);
          machines[follower] = fresh;
          await until(cluster, "the restarted replica to restore", () => fresh.commands.includes("s2"));
          const leaderId = leader.stats().nodeId;
          await until(cluster, "the restarted replica to follow", () =>
            cluster.replicas[follower].stats().leaderId === leaderId);
          await moveProposalsTo(cluster, leaderIndex, follower);
          const restarted = cluster.replicas[follower];
          const retry = await settle(
            cluster,
            "the latest command again",
            restarted.propose(encoder.encode("s2"), { ...identity, sequence: 2 }),
          );
          assert.equal(retry.duplicate, true);
          assert.equal(retry.result, first.result + 1);
          await assert.rejects(
            settle(cluster, "an older command again", restarted.propose(encoder.encode("kept"), identity)),
            hasCode("STALE_REQUEST"),
          );
          await settle(cluster, "a marker", restarted.propose(encoder.encode("end")));
          await everyReplicaApplied(cluster, machines, "end");
          for (const machine of machines) {
            assert.deepEqual(machine.commands, ["kept", "s2", "end"]);
          }
        }),
    },
  ];
}
