/**
 * Per-link modes: each link (this node to one peer) classified on its own
 * measurements, with the node's thresholds, hysteresis, sample window and
 * cooldown. A cluster rarely sits in one network: two racks joined by a WAN
 * need their rack links on the fast stack and the WAN links on the robust
 * one at the same time. The consensus engine stays cluster-wide (the
 * agreement decides it); per-link components (a link's compressor or
 * transport) follow {@linkcode LinkModes.mode}.
 *
 * Pure bookkeeping on explicit times, like the detector: the manager feeds
 * it every detection round's per-peer measurements (`Probe.peers()`).
 *
 * @module
 */
import type { HybridConfig } from "./config.ts";
import { ModeDetector } from "./detector.ts";
import type { Mode } from "../contracts/mode.ts";
import type { PeerMeasurement } from "../contracts/probe.ts";
import { mergeSamples, type NetworkSample } from "../contracts/sample.ts";

/** Links tracked at most; measurements of further peers are counted in `dropped` and ignored. */
export const MAX_LINKS = 1_024;

/** One link's state, as stats report it. */
export interface LinkStatus {
  /** The mode its components serve. */
  mode: Mode;
  /** Why: the last classification that changed it, or `"initial"`. */
  reason: string;
  /** When it entered `mode` (the manager's clock, ms). */
  sinceMs: number;
  /** The medians over the link's own sample window. */
  summary: NetworkSample;
  /** Mode changes of this link so far. */
  changes: number;
  /** The last error a probe gave for this peer, when its last round had one. */
  error?: string;
  /** The mode its measurements call for, when the cooldown holds it back. */
  wanted?: Mode;
}

/** A link that changed mode. */
export interface LinkChange {
  /** When (the manager's clock, ms). */
  atMs: number;
  /** The peer, as the probes name it. */
  peer: string;
  /** The mode before. */
  from: Mode;
  /** The mode now. */
  to: Mode;
  /** The classification, naming the measures and limits. */
  reason: string;
  /** The medians it was decided from. */
  summary: NetworkSample;
}

interface Link {
  detector: ModeDetector;
  mode: Mode;
  reason: string;
  sinceMs: number;
  lastChangeMs: number | undefined;
  changes: number;
  error?: string;
  wanted?: Mode;
}

/**
 * Classifies every link on its own measurements.
 *
 * @example
 * ```ts
 * import { LinkModes } from "./link_modes.ts";
 * import { resolveConfig } from "./config.ts";
 * const links = new LinkModes(resolveConfig({ sampleWindow: 1, cooldownMs: 0 }), "datacenter");
 * links.observe({ "rack-b:7000": { rttMs: 80, bandwidthMbps: 100, lossRatio: 0 } }, 0);
 * links.mode("rack-b:7000"); // "internet"
 * ```
 */
export class LinkModes {
  readonly #config: HybridConfig;
  readonly #initialMode: Mode;
  readonly #links = new Map<string, Link>();
  #dropped = 0;

  /** Tracks links with `config`'s thresholds, window and cooldown; a new link starts in `initialMode` unless told. */
  constructor(config: HybridConfig, initialMode: Mode) {
    this.#config = config;
    this.#initialMode = initialMode;
  }

  /** Measurements of peers beyond {@linkcode MAX_LINKS}, ignored so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Takes one round of per-peer measurements (several probes' results for
   * one peer are merged, the worst value of each measure) and returns the
   * links that changed mode. A link is tracked from its first measurement
   * on, starting from `current` (the mode it served until then: the node's;
   * the initial mode when not given). A tracked peer with an error and no
   * measures keeps its mode, its status showing the error; an untracked one
   * stays untracked.
   */
  observe(
    rounds: Record<string, PeerMeasurement> | Record<string, PeerMeasurement>[],
    atMs: number,
    current: Mode = this.#initialMode,
  ): LinkChange[] {
    const byPeer = new Map<string, { samples: NetworkSample[]; errors: string[] }>();
    for (const round of Array.isArray(rounds) ? rounds : [rounds]) {
      for (const [peer, measurement] of Object.entries(round)) {
        const entry = byPeer.get(peer) ?? { samples: [], errors: [] };
        const { error, ...sample } = measurement;
        if (Object.keys(sample).length > 0) entry.samples.push(sample);
        if (error !== undefined) entry.errors.push(error);
        byPeer.set(peer, entry);
      }
    }
    const changes: LinkChange[] = [];
    for (const [peer, { samples, errors }] of byPeer) {
      const link = samples.length > 0 ? this.#link(peer, atMs, current) : this.#links.get(peer);
      if (!link) continue;
      link.error = errors.length > 0 ? errors.join("; ") : undefined;
      if (samples.length === 0) continue;
      link.detector.observe(mergeSamples(samples));
      const decision = link.detector.decide(link.mode);
      if (!decision || decision.mode === link.mode) {
        link.wanted = undefined;
        continue;
      }
      if (link.lastChangeMs !== undefined && atMs - link.lastChangeMs < this.#config.cooldownMs) {
        link.wanted = decision.mode;
        continue;
      }
      changes.push({
        atMs,
        peer,
        from: link.mode,
        to: decision.mode,
        reason: decision.reason,
        summary: decision.sample,
      });
      Object.assign(link, {
        mode: decision.mode,
        reason: decision.reason,
        sinceMs: atMs,
        lastChangeMs: atMs,
        changes: link.changes + 1,
        wanted: undefined,
      });
    }
    return changes;
  }

  /** The mode of the link to `peer`, or `undefined` when it has never been measured. */
  mode(peer: string): Mode | undefined {
    return this.#links.get(peer)?.mode;
  }

  /** Every link's state, by peer. */
  status(): Record<string, LinkStatus> {
    return Object.fromEntries(
      [...this.#links].map(([peer, link]) => [peer, {
        mode: link.mode,
        reason: link.reason,
        sinceMs: link.sinceMs,
        summary: link.detector.summary(),
        changes: link.changes,
        ...(link.error !== undefined ? { error: link.error } : {}),
        ...(link.wanted !== undefined ? { wanted: link.wanted } : {}),
      }]),
    );
  }

  #link(peer: string, atMs: number, current: Mode): Link | undefined {
    const known = this.#links.get(peer);
    if (known) return known;
    if (this.#links.size >= MAX_LINKS) {
      this.#dropped++;
      return undefined;
    }
    const link: Link = {
      detector: new ModeDetector(this.#config),
      mode: current,
      reason: "initial",
      sinceMs: atMs,
      lastChangeMs: undefined,
      changes: 0,
    };
    this.#links.set(peer, link);
    return link;
  }
}
