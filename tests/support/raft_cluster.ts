/**
 * Raft clusters of real drivers for tests: memory transport, memory (or
 * file) storage, one ManualClock.
 *
 * @module
 */
import { ManualClock } from "../../core/clock.ts";
import type { ConsensusStateMachine } from "../../core/consensus.ts";
import { seededRandom } from "../../core/random.ts";
import {
  MemoryStorage,
  RaftConsensus,
  type RaftConsensusOptions,
  type RaftStorage,
} from "../../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { ConsensusCluster, ConsensusHarness } from "../compliance/consensus.ts";
import { severable } from "./severable_transport.ts";

/**
 * Starts `machines.length` replicas named n1… on one memory network; the
 * last `joiners` of them start outside the membership (`join`), to be added.
 * `restart(i, machine)` crashes replica `i` (its connections are cut, as a
 * dead process's are, and it is closed) and starts it again from its
 * storage with a fresh `machine` (in place in `replicas`).
 */
export async function startRaftCluster<Result>(
  machines: ConsensusStateMachine<Result>[],
  options: {
    storage?: (id: string) => RaftStorage;
    seed?: number;
    snapshotEveryEntries?: number;
    joiners?: number;
    deduplication?: RaftConsensusOptions<Result>["deduplication"];
  } = {},
): Promise<{
  replicas: RaftConsensus<Result>[];
  clock: ManualClock;
  network: MemoryNetwork;
  restart(index: number, machine: ConsensusStateMachine<Result>): Promise<void>;
  close(): Promise<void>;
}> {
  const clock = new ManualClock();
  const network = new MemoryNetwork({ clock, seed: 1 });
  const ids = machines.map((_, i) => `n${i + 1}`);
  const address = (id: string) => `raft-${id}`;
  const founders = ids.slice(0, ids.length - (options.joiners ?? 0));
  const peers = Object.fromEntries(founders.map((id) => [id, address(id)]));
  const random = seededRandom(options.seed ?? 7);
  const storages = ids.map((id) => options.storage?.(id) ?? new MemoryStorage());
  const transports = ids.map(() => undefined as ReturnType<typeof severable> | undefined);
  const replicaOf = (i: number, stateMachine: ConsensusStateMachine<Result>) => {
    const join = !founders.includes(ids[i]);
    return new RaftConsensus<Result>({
      id: ids[i],
      peers: join ? { ...peers, [ids[i]]: address(ids[i]) } : peers,
      join,
      transport: transports[i] = severable(network.transport(address(ids[i]))),
      storage: storages[i],
      stateMachine,
      clock,
      snapshotEveryEntries: options.snapshotEveryEntries,
      deduplication: options.deduplication,
      raft: { random: () => random.next() },
    });
  };
  const replicas = machines.map((stateMachine, i) => replicaOf(i, stateMachine));
  for (const replica of replicas) await replica.start();
  return {
    replicas,
    clock,
    network,
    async restart(index, machine) {
      transports[index]!.severAll();
      await replicas[index].close();
      if (options.storage) storages[index] = options.storage(ids[index]); // a closed file log is opened anew
      replicas[index] = replicaOf(index, machine);
      await replicas[index].start();
    },
    close: async () => {
      for (const replica of replicas) await replica.close();
    },
  };
}

/** The compliance harness for `consensus-raft`. */
export const raftHarness: ConsensusHarness = {
  async cluster(machines): Promise<ConsensusCluster> {
    const cluster = await startRaftCluster(machines);
    return {
      replicas: cluster.replicas,
      advance: (ms) => cluster.clock.advance(ms),
      restart: cluster.restart,
      close: cluster.close,
    };
  },
};
