/**
 * PBFT clusters of real drivers for tests: memory transport, memory (or
 * file) storage, one settling manual clock, keys made from fixed seeds.
 *
 * @module
 */
import type { ManualClock } from "../../core/util/clock.ts";
import type { ConsensusStateMachine } from "../../core/contracts/consensus.ts";
import type { Transport } from "../../core/contracts/transport.ts";
import {
  identityOf,
  MemoryPbftStorage,
  PbftConsensus,
  type PbftConsensusOptions,
  type PbftStorage,
  replicaKeys,
} from "../../plugins/consensus-pbft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import type { ConsensusCluster, ConsensusHarness } from "../../testing/consensus.ts";
import { peerCryptoIdle, SettlingClock } from "../../testing/advance.ts";
import { severable } from "./severable_transport.ts";

/** The fixed secret of test replica `id` (never use fixed secrets outside tests). */
export function testReplicaSecret(id: string): Uint8Array {
  const secret = new Uint8Array(32);
  const bytes = new TextEncoder().encode(id);
  for (let i = 0; i < 32; i++) secret[i] = (bytes[i % bytes.length] * 31 + i * 7) & 0xff;
  return secret;
}

/** The identities of test replicas `ids`. */
export async function testIdentities(ids: string[]): Promise<Record<string, string>> {
  return Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await identityOf(testReplicaSecret(id))])));
}

/** A running PBFT test cluster. */
export interface PbftTestCluster<Result> {
  /** The replicas, n1 first (a restarted one replaces its entry). */
  replicas: PbftConsensus<Result>[];
  /** Each replica's storage, kept across restarts. */
  storages: PbftStorage[];
  /** The clock every replica runs on; each advance waits until no frame is being sealed or opened. */
  clock: ManualClock;
  /** The memory network they talk over. */
  network: MemoryNetwork;
  /** The transport address of each replica. */
  peers: Record<string, string>;
  /** Cuts replica `index` off: its connections, and any later one, carry nothing (it keeps running). */
  silence(index: number): void;
  /** Crashes replica `index` (connections cut, closed) and starts it again from its storage with `machine`. */
  restart(index: number, machine: ConsensusStateMachine<Result>): Promise<PbftConsensus<Result>>;
  /** Closes every replica. */
  close(): Promise<void>;
}

/** Starts one replica per machine, named n1…, on one memory network. */
export async function startPbftCluster<Result>(
  machines: ConsensusStateMachine<Result>[],
  options: {
    storage?: (id: string) => PbftStorage;
    transport?: (id: string, transport: Transport) => Transport;
    pbft?: PbftConsensusOptions<Result>["pbft"];
    lanes?: number;
    /** What leaves each replica, seen (and rewritten) on the way out. */
    outgoing?: (id: string) => PbftConsensusOptions<Result>["outgoing"];
  } = {},
): Promise<PbftTestCluster<Result>> {
  // Time moves on only once no replica is sealing, opening or persisting (a file log's syncs take real time).
  const clock: ManualClock = new SettlingClock(() =>
    peerCryptoIdle(() =>
      replicas.map((replica) =>
        replica && { peerCryptoInFlight: replica.offLoopWork, peerCryptoIdle: () => replica.offLoopIdle() }
      )
    )
  );
  const network = new MemoryNetwork({ clock, seed: 1 });
  const ids = machines.map((_, i) => `n${i + 1}`);
  const peers = Object.fromEntries(ids.map((id) => [id, `pbft-${id}`]));
  const identities = await testIdentities(ids);
  const keys = await Promise.all(ids.map((id) => replicaKeys(id, testReplicaSecret(id), identities)));
  const storages = ids.map((id) => options.storage?.(id) ?? new MemoryPbftStorage());
  const transports = ids.map(() => undefined as ReturnType<typeof severable> | undefined);
  const replicaOf = (i: number, stateMachine: ConsensusStateMachine<Result>) => {
    const transport = network.transport(peers[ids[i]]);
    return new PbftConsensus<Result>({
      id: ids[i],
      peers,
      transport: transports[i] = severable(options.transport?.(ids[i], transport) ?? transport),
      storage: storages[i],
      stateMachine,
      clock,
      signer: keys[i].signer,
      verifier: keys[i].verifier,
      channelKeys: keys[i].channel,
      lanes: options.lanes,
      outgoing: options.outgoing?.(ids[i]),
      pbft: { requestTimeoutTicks: 50, viewChangeTimeoutTicks: 50, ...options.pbft },
    });
  };
  const replicas = machines.map((stateMachine, i) => replicaOf(i, stateMachine));
  // Replicas refuse frames stamped before their start plus the clock skew.
  for (const replica of replicas) await replica.start();
  await clock.advance(300);
  return {
    replicas,
    storages,
    clock,
    network,
    peers,
    silence: (index) => transports[index]!.severAll(),
    async restart(index, machine) {
      transports[index]!.severAll();
      await replicas[index].close();
      if (options.storage) storages[index] = options.storage(ids[index]);
      replicas[index] = replicaOf(index, machine);
      await replicas[index].start();
      return replicas[index];
    },
    close: async () => {
      for (const replica of replicas) await replica.close();
    },
  };
}

/** The compliance harness for `consensus-pbft`. */
export const pbftHarness: ConsensusHarness = {
  proposalsAnywhere: true,
  async cluster(machines): Promise<ConsensusCluster> {
    const cluster = await startPbftCluster(machines);
    return {
      replicas: cluster.replicas,
      advance: (ms) => cluster.clock.advance(ms),
      restart: async (index, machine) => void await cluster.restart(index, machine),
      close: cluster.close,
    };
  },
};
