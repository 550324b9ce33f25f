/**
 * One node of the replicated key-value store, as a process: Raft (or PBFT,
 * with `--engine pbft`) over TCP, the file write-ahead log, and an HTTP API
 * for clients.
 *
 * ```sh
 * deno run -A examples/kv/node.ts --id n1 --data-dir /tmp/kv/n1 \
 *   --node n1=127.0.0.1:7001,127.0.0.1:8001 --node n2=127.0.0.1:7002,127.0.0.1:8002 \
 *   --node n3=127.0.0.1:7003,127.0.0.1:8003
 * curl -X PUT --data green http://127.0.0.1:8001/kv/color   # on the leader
 * curl http://127.0.0.1:8001/kv/color
 * ```
 *
 * Each `--node` is `id=raftHost:port,httpHost:port`. With Raft a follower
 * answers writes and reads with 421 and the leader's HTTP address. With
 * PBFT (4 nodes or more: f of 3f + 1 may be Byzantine) every node takes
 * writes and reads; each node needs its own secret (`--secret-file`) and
 * every node's public identity (`--identity id=...`; `cluster.ts` makes
 * both with `generateReplicaSecret` and `identityOf`). With
 * `--engine adaptive` (4 nodes or more, the same keys as PBFT) the cluster
 * runs the adaptive engine: Raft epochs in datacenter and hybrid mode, PBFT
 * epochs in internet mode, switching where its log agrees, each epoch's log
 * in `<data-dir>/epoch-<n>/`; `adaptive_http.ts` adds its routes
 * (`GET /adaptive`, `POST /adaptive/force`, `PUT /adaptive/measurements`). `--checkpoint-interval N` sets PBFT's checkpoint
 * interval, `--batch-requests N` the requests per batch and
 * `--operations-per-request N` the proposals bundled per request (1 and 1:
 * no batching), `--lanes N` the requests this node's embedded client keeps
 * in flight, `--inflight-batches N` the batches a primary proposes before
 * the first executes; `--byzantine equivocate` makes the node lie to half of the
 * others (fault injection for tests).
 * `--max-body-bytes` bounds request bodies (default 1 MiB; larger ones get
 * 413 without being read).
 *
 * Raft messages are authenticated with the cluster secret (hex or base64, at
 * least 32 bytes, the same on every node): from `--cluster-key-file`, or else
 * the environment variable `SWITCHYARD_CLUSTER_KEY`. Without one the node
 * refuses to start, unless `--insecure-no-auth` says to run unauthenticated.
 *
 * HTTP (see `http.ts`): `PUT /kv/:key` (body: the value) and
 * `POST /kv/:key` (append) → `{ index, previous }`, with the client identity
 * in `x-client-id` and `x-client-sequence`; `GET /kv/:key` → `{ value }`;
 * `GET /status` → the consensus stats. Errors: 421 not the leader
 * (`leader`, `leaderUrl`), 503 retry, 504 unknown outcome (retry with the
 * same identity), 409 stale or unknown client, 413 body too large, 400 bad
 * input.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SystemClock } from "@switchyard/hybrid";
import { consoleLogger } from "@switchyard/hybrid";
import { serve } from "@switchyard/hybrid/admin";
import { FileWal, RaftConsensus } from "@switchyard/hybrid/consensus-raft";
import { clusterKeys, decodeClusterKey, loadClusterKey } from "@switchyard/hybrid/peer-auth";
import {
  domainSigner,
  domainVerifier,
  equivocatingFilter,
  FilePbftStorage,
  PbftConsensus,
  replicaKeys,
} from "@switchyard/hybrid/consensus-pbft";
import { readFile } from "node:fs/promises";
import {
  AdaptiveConsensus,
  discardEpochDirs,
  epochDir,
  FileHandoverStore,
} from "@switchyard/hybrid/consensus-adaptive";
import { openTcpTransport, parseTcpOptions } from "@switchyard/hybrid/transport-tcp";
import { adaptiveRoutes, kvHttpApi, KvStateMachine } from "@switchyard/hybrid/kv";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    id: { type: "string" },
    node: { type: "string", multiple: true },
    "data-dir": { type: "string" },
    "tick-ms": { type: "string", default: "10" },
    "max-body-bytes": { type: "string", default: String(1024 * 1024) },
    "cluster-key-file": { type: "string" },
    engine: { type: "string", default: "raft" },
    "secret-file": { type: "string" },
    identity: { type: "string", multiple: true },
    "checkpoint-interval": { type: "string" },
    "batch-requests": { type: "string" },
    "operations-per-request": { type: "string" },
    lanes: { type: "string" },
    "inflight-batches": { type: "string" },
    byzantine: { type: "string" },
    "insecure-no-auth": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});
const id = values.id;
/** A whole-number option above 0, or exit 2 naming it. */
function positive(name: keyof typeof values): number {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} must be a whole number above 0, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return value;
}

if (!id || !values.node?.length || !values["data-dir"]) {
  console.error("usage: node.ts --id ID --data-dir DIR --node id=raftHost:port,httpHost:port ...");
  process.exit(2);
}

// PBFT's tuning, checked before anything starts.
const pbftTuning = {
  pbft: {
    ...(values["checkpoint-interval"] !== undefined
      ? { checkpointInterval: positive("checkpoint-interval"), windowSize: 4 * positive("checkpoint-interval") }
      : {}),
    ...(values["batch-requests"] !== undefined ? { maxBatchRequests: positive("batch-requests") } : {}),
    ...(values["inflight-batches"] !== undefined ? { maxInflightBatches: positive("inflight-batches") } : {}),
  },
  ...(values["operations-per-request"] !== undefined
    ? { maxOperationsPerRequest: positive("operations-per-request") }
    : {}),
  ...(values.lanes !== undefined ? { lanes: positive("lanes") } : {}),
};
const raftAddresses: Record<string, string> = {};
const httpAddresses: Record<string, string> = {};
for (const spec of values.node) {
  const match = /^([^=]+)=([^,]+),(.+)$/.exec(spec);
  if (!match) throw new Error(`--node must be id=raftHost:port,httpHost:port, got "${spec}"`);
  raftAddresses[match[1]] = match[2];
  httpAddresses[match[1]] = match[3];
}
if (!httpAddresses[id]) throw new Error(`--node must list this node (${id})`);

const clock = new SystemClock();
const logger = consoleLogger(values.quiet ? "error" : "info", `kv ${id}`);
if (values.engine !== "raft" && values.engine !== "pbft" && values.engine !== "adaptive") {
  console.error(`--engine must be raft, pbft or adaptive, got "${values.engine}"`);
  process.exit(2);
}
const machine = new KvStateMachine();
const transport = await openTcpTransport(
  parseTcpOptions({ maxFrameBytes: 64 * 1024 * 1024, initialBackoffMs: 50, maxBackoffMs: 500 }),
  clock,
  logger,
);
let adaptive: AdaptiveConsensus<string | null> | undefined;
const adaptiveApi = adaptiveRoutes(() => adaptive as AdaptiveConsensus<unknown> | undefined);
const { consensus, status } = values.engine === "pbft"
  ? await startPbft()
  : values.engine === "adaptive"
  ? await startAdaptive()
  : await startRaft();

async function startRaft() {
  const keyFile = values["cluster-key-file"];
  const secret = values["insecure-no-auth"] ? undefined : await loadClusterKey(
    keyFile
      ? { clusterKeyFile: keyFile, insecureNoAuth: false }
      : { clusterKeyEnv: "SWITCHYARD_CLUSTER_KEY", insecureNoAuth: false },
    "",
  ).catch((error) => {
    console.error(`${error.message}\n(give --cluster-key-file FILE or SWITCHYARD_CLUSTER_KEY, or --insecure-no-auth)`);
    process.exit(2);
  });
  if (!secret) console.error(`kv ${id}: WARNING: --insecure-no-auth: Raft messages are not authenticated`);
  const wal = new FileWal(values["data-dir"]!);
  const raft = new RaftConsensus<string | null>({
    id: id!,
    peers: raftAddresses,
    transport,
    peerAuth: secret ? { keys: clusterKeys(secret) } : "none",
    storage: wal,
    stateMachine: machine,
    clock,
    tickMs: Number(values["tick-ms"]),
    logger,
  });
  await raft.start();
  if (wal.recovery.tornTailBytes > 0) logger.warn("cut a torn tail off the log", { bytes: wal.recovery.tornTailBytes });
  return {
    consensus: raft,
    status: () => ({ dropped: raft.droppedBatches, syncs: wal.syncs, deduplication: raft.deduplication }),
  };
}

/** This replica's PBFT keys, from `--secret-file` and every `--identity`. */
async function loadReplicaKeys() {
  const identities: Record<string, string> = {};
  for (const spec of values.identity ?? []) {
    const match = /^([^=]+)=(.+)$/.exec(spec);
    if (!match) throw new Error(`--identity must be id=identity, got "${spec}"`);
    identities[match[1]] = match[2];
  }
  if (!values["secret-file"]) {
    console.error(`--engine ${values.engine} needs --secret-file (this node's secret) and --identity for every node`);
    process.exit(2);
  }
  const secret = decodeClusterKey(await readFile(values["secret-file"], "utf8"));
  if (typeof secret === "string") throw new Error(`--secret-file ${secret}`);
  return await replicaKeys(id!, secret, identities);
}

async function startAdaptive() {
  const keys = await loadReplicaKeys();
  const dataDir = values["data-dir"]!;
  const tickMs = Number(values["tick-ms"]);
  const logDir = (epoch: number) => epochDir(dataDir, epoch);
  const syncs: Record<string, () => number> = {};
  adaptive = new AdaptiveConsensus<string | null>({
    id: id!,
    peers: raftAddresses,
    transport,
    clock,
    stateMachine: machine,
    channelKeys: keys.channel,
    handovers: new FileHandoverStore(dataDir),
    discardEpochsBefore: (epoch) => discardEpochDirs(dataDir, epoch),
    measure: () => adaptiveApi.measured(),
    logger,
    engines: {
      raft: (epoch) => {
        const wal = new FileWal(logDir(epoch.epoch));
        syncs[epoch.epoch] = () => wal.syncs;
        return new RaftConsensus({
          id: id!,
          peers: raftAddresses,
          transport: epoch.transport,
          peerAuth: { keys: epoch.keys, startedAtMs: epoch.startedAtMs },
          firstLeader: epoch.firstLeader,
          storage: wal,
          stateMachine: epoch.stateMachine,
          clock,
          tickMs,
          logger,
        });
      },
      pbft: (epoch) => {
        const storage = new FilePbftStorage(logDir(epoch.epoch));
        syncs[epoch.epoch] = () => storage.syncs;
        return new PbftConsensus({
          id: id!,
          peers: raftAddresses,
          transport: epoch.transport,
          storage,
          stateMachine: epoch.stateMachine,
          clock,
          signer: domainSigner(keys.signer, `switchyard epoch ${epoch.epoch}`),
          verifier: domainVerifier(keys.verifier, `switchyard epoch ${epoch.epoch}`),
          channelKeys: epoch.keys,
          channelStartedAtMs: epoch.startedAtMs,
          tickMs,
          logger,
          ...pbftTuning,
        });
      },
    },
  });
  await adaptive.start();
  const engine = adaptive;
  return {
    consensus: engine,
    status: () => {
      const stats = engine.adaptiveStats();
      return { epoch: stats.epoch, mode: stats.agreed.mode, epochEngine: stats.engine, syncs: syncs[stats.epoch]?.() };
    },
  };
}

async function startPbft() {
  const keys = await loadReplicaKeys();
  const storage = new FilePbftStorage(values["data-dir"]!);
  const pbft = new PbftConsensus<string | null>({
    id: id!,
    peers: raftAddresses,
    transport,
    storage,
    stateMachine: machine,
    clock,
    signer: keys.signer,
    verifier: keys.verifier,
    channelKeys: keys.channel,
    tickMs: Number(values["tick-ms"]),
    logger,
    ...pbftTuning,
    // Fault injection for the crash tests: this replica lies to half of the others.
    outgoing: values.byzantine === "equivocate" ? equivocatingFilter(keys.signer) : undefined,
  });
  if (values.byzantine) console.error(`kv ${id}: WARNING: --byzantine ${values.byzantine}: this replica lies`);
  await pbft.start();
  if (storage.recovery.tornTailBytes > 0) {
    logger.warn("cut a torn tail off the log", { bytes: storage.recovery.tornTailBytes });
  }
  return { consensus: pbft, status: () => ({ syncs: storage.syncs, pbft: pbft.pbftStats() }) };
}

const api = kvHttpApi({
  consensus,
  machine,
  maxBodyBytes: Number(values["max-body-bytes"]),
  leaderUrl: (leader) => httpAddresses[leader] ? `http://${httpAddresses[leader]}` : null,
  status,
  logger,
});
const [hostname, port] = httpAddresses[id].split(":");
const server = await serve({
  hostname,
  port: Number(port),
  fetch: (request) => adaptiveApi.fetch(request) ?? api.fetch(request),
});
logger.info("listening", { http: `${server.hostname}:${server.port}`, [values.engine!]: raftAddresses[id] });
console.log(`ready ${id}`);

const stop = async () => {
  await server.close();
  await consensus.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
