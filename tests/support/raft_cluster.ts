/**
 * Raft clusters of real drivers for tests: memory transport, memory (or
 * file) storage, one ManualClock, peer frames authenticated with a fixed
 * test key.
 *
 * @module
 */
import type { ManualClock } from "../../core/util/clock.ts";
import type { ConsensusStateMachine } from "../../core/contracts/consensus.ts";
import { seededRandom } from "../../core/util/random.ts";
import type { Transport } from "../../core/contracts/transport.ts";
import {
  MemoryStorage,
  type RaftConfig,
  RaftConsensus,
  type RaftConsensusOptions,
  type RaftStorage,
} from "../../plugins/consensus-raft/mod.ts";
import { clusterKeys, parseClusterKey } from "../../plugins/peer-auth/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { ConsensusCluster, ConsensusHarness } from "../../testing/consensus.ts";
import { peerCryptoIdle, SettlingClock } from "../../testing/advance.ts";
import { severable } from "./severable_transport.ts";

/** The cluster secret of test clusters (hex). */
export const TEST_CLUSTER_KEY = "5a".repeat(32);
/** The peer keys derived from {@linkcode TEST_CLUSTER_KEY}. */
export const testPeerKeys = clusterKeys(parseClusterKey(TEST_CLUSTER_KEY, "TEST_CLUSTER_KEY"));

/** A running test cluster. */
export interface RaftTestCluster<Result> {
  /** The replicas, n1 first (a restarted one replaces its entry). */
  replicas: RaftConsensus<Result>[];
  /** Each replica's storage, kept across restarts. */
  storages: RaftStorage[];
  /**
   * The clock every replica runs on; each advance waits until no replica is
   * sealing or opening a frame (WebCrypto works off the event loop, and
   * manual time must not outrun it, or followers time out on frames still
   * being verified).
   */
  clock: ManualClock;
  /** The memory network they talk over. */
  network: MemoryNetwork;
  /**
   * Crashes replica `index` (its connections are cut, as a dead process's
   * are, and it is closed) and starts it again from its storage with a fresh
   * `machine`, in place in `replicas`; returns it.
   */
  restart(index: number, machine: ConsensusStateMachine<Result>): Promise<RaftConsensus<Result>>;
  /** Closes every replica. */
  close(): Promise<void>;
}

/**
 * Starts `machines.length` replicas named n1… on one memory network; the
 * last `joiners` of them start outside the membership (`join`), to be added.
 */
export async function startRaftCluster<Result>(
  machines: ConsensusStateMachine<Result>[],
  options: {
    storage?: (id: string) => RaftStorage;
    seed?: number;
    snapshotEveryEntries?: number;
    joiners?: number;
    deduplication?: RaftConsensusOptions<Result>["deduplication"];
    /** Wraps each node's transport (e.g. to record the frames it sends). */
    transport?: (id: string, transport: Transport) => Transport;
    /** Raft tunables for every replica. */
    raft?: Partial<Omit<RaftConfig, "id" | "random">>;
    /** Each node's peer authentication (default: the test key). */
    peerAuth?: (id: string) => RaftConsensusOptions<Result>["peerAuth"];
  } = {},
): Promise<RaftTestCluster<Result>> {
  const clock: ManualClock = new SettlingClock(() => peerCryptoIdle(() => replicas));
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
    const transport = network.transport(address(ids[i]));
    return new RaftConsensus<Result>({
      id: ids[i],
      peers: join ? { ...peers, [ids[i]]: address(ids[i]) } : peers,
      join,
      transport: transports[i] = severable(options.transport?.(ids[i], transport) ?? transport),
      peerAuth: options.peerAuth?.(ids[i]) ?? { keys: testPeerKeys },
      storage: storages[i],
      stateMachine,
      clock,
      snapshotEveryEntries: options.snapshotEveryEntries,
      deduplication: options.deduplication,
      raft: { ...options.raft, random: () => random.next() },
    });
  };
  const replicas = machines.map((stateMachine, i) => replicaOf(i, stateMachine));
  for (const replica of replicas) await replica.start();
  return {
    replicas,
    storages,
    clock,
    network,
    async restart(index, machine) {
      transports[index]!.severAll();
      await replicas[index].close();
      if (options.storage) storages[index] = options.storage(ids[index]); // a closed file log is opened anew
      replicas[index] = replicaOf(index, machine);
      await replicas[index].start();
      return replicas[index];
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
      restart: async (index, machine) => void await cluster.restart(index, machine),
      close: cluster.close,
    };
  },
};
