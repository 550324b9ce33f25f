/**
 * Adaptive-consensus clusters of real engines for tests: Raft and PBFT
 * epochs over one memory network, memory storage per node and epoch (kept
 * across restarts, like a disk), the PBFT test keys, real time.
 *
 * @module
 */
import { SystemClock } from "../../core/util/clock.ts";
import type { Clock } from "../../core/util/clock.ts";
import type { Consensus, ConsensusStateMachine } from "../../core/contracts/consensus.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";
import type { Transport } from "../../core/contracts/transport.ts";
import {
  AdaptiveConsensus,
  type AdaptiveConsensusOptions,
  type EngineFactory,
  type EpochResult,
  MemoryHandoverStore,
} from "../../plugins/consensus-adaptive/mod.ts";
import {
  domainSigner,
  domainVerifier,
  MemoryPbftStorage,
  PbftConsensus,
  replicaKeys,
} from "../../plugins/consensus-pbft/mod.ts";
import { MemoryStorage, RaftConsensus } from "../../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { openTcpTransport, parseTcpOptions } from "../../plugins/transport-tcp/mod.ts";
import { freePort } from "../../examples/kv/cluster.ts";
import { testIdentities, testReplicaSecret } from "./pbft_consensus_cluster.ts";

/** A running adaptive test cluster. */
export interface AdaptiveTestCluster<Result> {
  /** The replicas, n1 first (a restarted one replaces its entry; undefined while down). */
  replicas: (AdaptiveConsensus<Result> | undefined)[];
  /** The member ids. */
  ids: string[];
  /** The network. */
  network: MemoryNetwork;
  /** Stops replica `index` as a crash would (its memory gone, its storage kept). */
  crash(index: number): Promise<void>;
  /** Starts replica `index` again from its storage with a fresh `machine`. */
  start(index: number, machine: ConsensusStateMachine<Result>): Promise<AdaptiveConsensus<Result>>;
  /** Closes every replica. */
  close(): Promise<void>;
}

/** Options of {@linkcode startAdaptiveCluster}. */
export interface AdaptiveClusterOptions<Result> {
  /** Time source (default: real time). */
  clock?: Clock;
  /** Wraps each node's transport (fault injection). */
  transport?: (id: string, transport: Transport) => Transport;
  /** Extra options for every replica. */
  adaptive?: Partial<AdaptiveConsensusOptions<Result>>;
  /** Extra options for one replica (over `adaptive`). */
  adaptiveFor?: (id: string) => Partial<AdaptiveConsensusOptions<Result>> | undefined;
  /** Milliseconds per engine tick (default 5). */
  tickMs?: number;
  /** Delay of every link, ms (default 1). */
  linkDelayMs?: number;
  /** `"tcp"`: each replica on its own TCP transport on loopback instead of the memory network. */
  network?: "memory" | "tcp";
  /** Told of every epoch engine made (a test reaches a replica's engine through it, e.g. to forge entries). */
  onEngine?: (id: string, epoch: number, engine: Consensus<EpochResult<unknown>>) => void;
  /** Each replica's measurements, reported every 20 ms (default: none). */
  measure?: (id: string) => NetworkSample | undefined;
}

/** Starts one adaptive replica per machine, named n1…, on one memory network. */
export async function startAdaptiveCluster<Result>(
  machines: ConsensusStateMachine<Result>[],
  options: AdaptiveClusterOptions<Result> = {},
): Promise<AdaptiveTestCluster<Result>> {
  const clock = options.clock ?? new SystemClock();
  // A link delay, as on any real network: zero-delay memory links deliver in microtasks, and a PBFT cluster in one
  // process under a closed loop of proposals would then never yield to its timers.
  const network = new MemoryNetwork({ clock, seed: 1, defaultLink: { delayMs: options.linkDelayMs ?? 1 } });
  const ids = machines.map((_, i) => `n${i + 1}`);
  const tcp = options.network === "tcp";
  const peers: Record<string, string> = {};
  for (const id of ids) peers[id] = tcp ? `127.0.0.1:${await freePort()}` : `adaptive-${id}`;
  const tcpTransports = tcp
    ? await Promise.all(ids.map(() => openTcpTransport(parseTcpOptions({ maxFrameBytes: 64 * 1024 * 1024 }), clock)))
    : [];
  const identities = await testIdentities(ids);
  const keys = await Promise.all(ids.map((id) => replicaKeys(id, testReplicaSecret(id), identities)));
  const handovers = ids.map(() => new MemoryHandoverStore());
  const raftStorage = new Map<string, MemoryStorage>();
  const pbftStorage = new Map<string, MemoryPbftStorage>();
  const tickMs = options.tickMs ?? 5;
  const starts = ids.map(() => 0);
  const replicas: (AdaptiveConsensus<Result> | undefined)[] = ids.map(() => undefined);

  const make = (index: number, machine: ConsensusStateMachine<Result>) => {
    const id = ids[index];
    const storageKey = (epoch: number) => `${id}/${epoch}`;
    const raft: EngineFactory = (context) => {
      const storage = raftStorage.get(storageKey(context.epoch)) ?? new MemoryStorage();
      raftStorage.set(storageKey(context.epoch), storage);
      const engine = new RaftConsensus({
        id,
        peers,
        transport: context.transport,
        peerAuth: { keys: context.keys, startedAtMs: context.startedAtMs },
        firstLeader: context.firstLeader,
        storage,
        stateMachine: context.stateMachine,
        clock,
        tickMs,
      });
      options.onEngine?.(id, context.epoch, engine);
      return engine;
    };
    const pbft: EngineFactory = (context) => {
      const storage = pbftStorage.get(storageKey(context.epoch)) ?? new MemoryPbftStorage();
      pbftStorage.set(storageKey(context.epoch), storage);
      const engine = new PbftConsensus({
        id,
        peers,
        transport: context.transport,
        storage,
        stateMachine: context.stateMachine,
        clock,
        signer: domainSigner(keys[index].signer, `switchyard epoch ${context.epoch}`),
        verifier: domainVerifier(keys[index].verifier, `switchyard epoch ${context.epoch}`),
        channelKeys: context.keys,
        channelStartedAtMs: context.startedAtMs,
        tickMs,
      });
      options.onEngine?.(id, context.epoch, engine);
      return engine;
    };
    const base = tcp ? tcpTransports[index] : network.transport(peers[id]);
    return new AdaptiveConsensus<Result>({
      id,
      peers,
      transport: options.transport?.(id, base) ?? base,
      clock,
      stateMachine: machine,
      channelKeys: keys[index].channel,
      engines: { raft, pbft },
      handovers: handovers[index],
      cooldownMs: 0,
      graceMs: 500,
      statusIntervalMs: 50,
      clientPrefix: `${id}~start${++starts[index]}`,
      ...(options.measure ? { measure: () => options.measure!(id), reportEveryMs: 20 } : {}),
      ...options.adaptive,
      ...options.adaptiveFor?.(id),
    });
  };

  const cluster: AdaptiveTestCluster<Result> = {
    replicas,
    ids,
    network,
    async crash(index) {
      const replica = replicas[index];
      replicas[index] = undefined;
      await replica?.close();
    },
    async start(index, machine) {
      const replica = make(index, machine);
      replicas[index] = replica;
      await replica.start();
      return replica;
    },
    async close() {
      await Promise.all(replicas.map((replica) => replica?.close()));
    },
  };
  await Promise.all(machines.map((machine, index) => cluster.start(index, machine)));
  return cluster;
}
