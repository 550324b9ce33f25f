/**
 * The key-value store's HTTP API on a Raft cluster in process: one
 * `kvHttpApi` per replica, all on one ManualClock, and a `fetch` that routes
 * a URL to its node's handler (no sockets), for KV client tests.
 *
 * @module
 */
import { type KvHttpApi, kvHttpApi } from "../../runtime/kv/mod.ts";
import { KvStateMachine } from "../../runtime/kv/mod.ts";
import type { Logger } from "../../core/util/logger.ts";
import { startRaftCluster } from "./raft_cluster.ts";

/** A running in-process KV cluster. */
export interface InProcessKvCluster {
  /** The Raft cluster underneath. */
  raft: Awaited<ReturnType<typeof startRaftCluster<string | null>>>;
  /** Each node's map. */
  machines: KvStateMachine[];
  /** Each node's API. */
  apis: KvHttpApi[];
  /** Each node's client URL: `http://n1`, … */
  urls: string[];
  /** Serves `url` with the node it names. */
  fetch(url: string, init: RequestInit): Promise<Response>;
  /** Stops every node. */
  close(): Promise<void>;
}

/** Starts `size` nodes. */
export async function startKvCluster(size: number, logger?: Logger): Promise<InProcessKvCluster> {
  const machines = Array.from({ length: size }, () => new KvStateMachine());
  const raft = await startRaftCluster<string | null>(machines);
  const urls = machines.map((_, i) => `http://n${i + 1}`);
  const apis = machines.map((machine, i) =>
    kvHttpApi({
      consensus: raft.replicas[i],
      machine,
      leaderUrl: (id) => urls[Number(id.slice(1)) - 1] ?? null,
      logger,
    })
  );
  return {
    raft,
    machines,
    apis,
    urls,
    fetch(url, init) {
      const node = urls.findIndex((base) => url.startsWith(`${base}/`));
      if (node < 0) return Promise.reject(new TypeError(`no node serves ${url}`));
      return apis[node].fetch(new Request(url, init));
    },
    close: () => raft.close(),
  };
}
