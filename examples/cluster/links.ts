/**
 * The emulated network between the cluster's nodes: for every ordered pair
 * of nodes (a dials b) and every port b serves to peers (its transport, its
 * probe responder), a link proxy (`tools/link_proxy.ts`: one-way delay,
 * jitter, bandwidth, loss as retransmission delay) in front of b. Node a is
 * configured to dial the proxy, so everything between two nodes crosses an
 * emulated link whose model can change while the cluster runs.
 *
 * @module
 */
import type { LinkModel } from "../../plugins/transport-memory/link.ts";
import { type LinkProxy, startLinkProxy } from "../../tools/link_proxy.ts";
import { parseAddress } from "@switchyard/hybrid/transport-tcp";

/** A link as a scenario describes it: round trip, jitter, bandwidth and loss. */
export interface LinkConditions {
  /** Round trip, ms (each direction takes half). */
  rttMs: number;
  /** ± jitter of each direction, ms (default 0). */
  jitterMs?: number;
  /** Bandwidth, Mbit/s (0: unlimited). */
  bandwidthMbps: number;
  /** Share of segments lost once and retransmitted (default 0). */
  lossRatio?: number;
}

/** The link model a proxy runs for `conditions`. */
export function linkModel(conditions: LinkConditions): LinkModel {
  return {
    delayMs: conditions.rttMs / 2,
    jitterMs: conditions.jitterMs ?? 0,
    bandwidthMbps: conditions.bandwidthMbps,
    lossRatio: conditions.lossRatio ?? 0,
  };
}

/** What one node serves to its peers, by name (`transport`, `probe`), as `host:port`. */
export type PeerPorts = Record<string, string>;

/** The running mesh of links. */
export class LinkMesh {
  readonly #proxies = new Map<string, LinkProxy>();

  private constructor() {}

  /**
   * Starts one proxy per ordered pair of `nodes` and per port each serves;
   * every link starts as `initial`.
   */
  static async start(
    nodes: Record<string, PeerPorts>,
    initial: LinkConditions,
    seed = 1,
  ): Promise<LinkMesh> {
    const mesh = new LinkMesh();
    let index = 0;
    try {
      for (const from of Object.keys(nodes)) {
        for (const [to, ports] of Object.entries(nodes)) {
          if (from === to) continue;
          for (const [name, address] of Object.entries(ports)) {
            const { hostname: host, port } = parseAddress(address);
            const proxy = await startLinkProxy({
              port: 0,
              target: { host, port },
              link: linkModel(initial),
              seed: seed * 1_000 + ++index,
            });
            mesh.#proxies.set(key(from, to, name), proxy);
          }
        }
      }
    } catch (error) {
      await mesh.close();
      throw error;
    }
    return mesh;
  }

  /** The address `from` dials to reach `to`'s port `name`. */
  address(from: string, to: string, name: string): string {
    const proxy = this.#proxies.get(key(from, to, name));
    if (!proxy) throw new Error(`no link from ${from} to ${to}'s ${name}`);
    return `127.0.0.1:${proxy.port}`;
  }

  /** Sets every link (or those between `from` and `to`, both ways) to `conditions`, open connections included. */
  set(conditions: LinkConditions, between?: { from: string; to: string }): void {
    const model = linkModel(conditions);
    for (const [name, proxy] of this.#proxies) {
      const [from, to] = name.split(" ");
      if (between && !((from === between.from && to === between.to) || (from === between.to && to === between.from))) {
        continue;
      }
      proxy.setLink(model);
    }
  }

  /** Closes every proxy and its connections. */
  async close(): Promise<void> {
    await Promise.all([...this.#proxies.values()].map((proxy) => proxy.close()));
    this.#proxies.clear();
  }
}

function key(from: string, to: string, name: string): string {
  return `${from} ${to} ${name}`;
}
