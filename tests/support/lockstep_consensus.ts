/**
 * A toy consensus for testing the consensus suite itself: one shared log,
 * appended by the leader and applied at once by every live replica, with
 * leadership moved by `transferLeadership`, snapshots per replica and
 * restarts from them. Honest, it applies through the core's
 * `DeduplicatingStateMachine`, as every engine must; `deduplicate: false`
 * ignores client identities (applies every proposal), the bug the suite's
 * client-identity cases must catch.
 *
 * @module
 */
import { decodeClientCommand, encodeProposal } from "../../core/contracts/client_command.ts";
import {
  type Committed,
  type Consensus,
  ConsensusError,
  type ConsensusStateMachine,
  type LogPosition,
  type ProposeOptions,
} from "../../core/contracts/consensus.ts";
import { type ApplyOutcome, DeduplicatingStateMachine } from "../../plugins/consensus-kit/deduplicating_machine.ts";
import type { ConsensusCluster } from "../../testing/consensus.ts";

interface Replica {
  machine: DeduplicatingStateMachine<number>;
  applied: number;
  snapshot: { index: number; term: number; bytes: Uint8Array } | undefined;
  closed: boolean;
}

/** A lockstep cluster of `machines.length` replicas named r0…; r0 leads first. */
export function lockstepCluster(
  machines: ConsensusStateMachine<number>[],
  options: { deduplicate: boolean },
): ConsensusCluster {
  const log: { data: Uint8Array; term: number }[] = [];
  const ids = machines.map((_, i) => `r${i}`);
  let leader = 0;
  let term = 1;
  const states: Replica[] = [];

  const applyEntry = (replica: Replica, data: Uint8Array, position: LogPosition): ApplyOutcome<number> => {
    if (options.deduplicate) return replica.machine.apply(data, position);
    const result = replica.machine.machine.apply(decodeClientCommand(data).command, position);
    return { ok: true, committed: { ...position, result } };
  };
  const catchUp = (replica: Replica): ApplyOutcome<number> | undefined => {
    let outcome: ApplyOutcome<number> | undefined;
    while (!replica.closed && replica.applied < log.length) {
      const index = ++replica.applied;
      outcome = applyEntry(replica, log[index - 1].data, { index, term: log[index - 1].term });
    }
    return outcome;
  };
  const fresh = (machine: ConsensusStateMachine<number>): Replica => ({
    machine: new DeduplicatingStateMachine(machine),
    applied: 0,
    snapshot: undefined,
    closed: false,
  });

  const replicaAt = (i: number): Consensus<number> => {
    const state = () => states[i];
    const closed = () => Promise.reject(new ConsensusError("CONSENSUS_CLOSED", `${ids[i]} is closed`));
    return {
      name: "lockstep",
      start: () => Promise.resolve(),
      propose(command: Uint8Array, callOptions?: ProposeOptions): Promise<Committed<number>> {
        if (state().closed) return closed();
        if (i !== leader) return Promise.reject(new ConsensusError("NOT_LEADER", "follower", ids[leader]));
        let data: Uint8Array;
        try {
          data = options.deduplicate ? encodeProposal(command, callOptions) : encodeProposal(command, undefined);
        } catch (error) {
          return Promise.reject(error);
        }
        log.push({ data, term });
        for (const other of states) if (other !== state()) catchUp(other);
        const outcome = catchUp(state())!;
        return outcome.ok ? Promise.resolve(outcome.committed) : Promise.reject(outcome.error);
      },
      read: () => state().closed ? closed() : Promise.resolve(),
      addMember: () => Promise.resolve(),
      removeMember: () => Promise.resolve(),
      transferLeadership(id) {
        if (state().closed) return closed();
        leader = ids.indexOf(id);
        term++;
        return Promise.resolve();
      },
      snapshot() {
        if (state().closed) return closed();
        const replica = state();
        const at = { index: replica.applied, term: log[replica.applied - 1]?.term ?? 0 };
        replica.snapshot = { ...at, bytes: replica.machine.snapshot() };
        return Promise.resolve(at);
      },
      stats: () => ({
        engine: "lockstep",
        nodeId: ids[i],
        role: i === leader ? "leader" : "follower",
        term,
        leaderId: ids[leader],
        members: [...ids],
        commitIndex: log.length,
        appliedIndex: state().applied,
        snapshotIndex: state().snapshot?.index ?? 0,
        healthy: !state().closed,
      }),
      close() {
        state().closed = true;
        return Promise.resolve();
      },
    };
  };

  for (const machine of machines) states.push(fresh(machine));
  const replicas = machines.map((_, i) => replicaAt(i));
  return {
    replicas,
    advance: () => Promise.resolve(),
    restart(index, machine) {
      const { snapshot } = states[index];
      const replica = fresh(machine);
      if (snapshot) {
        replica.machine.restore(snapshot.bytes);
        replica.applied = snapshot.index;
        replica.snapshot = snapshot;
      }
      states[index] = replica;
      catchUp(replica);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
