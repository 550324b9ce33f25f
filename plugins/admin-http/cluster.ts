/**
 * The cluster as this node knows it, for `GET /cluster` and the dashboard's
 * Cluster panel: the mode agreement (`getStats().agreement`, present when a
 * component carries one, as consensus-adaptive does), the probes' per-peer
 * results (`getStats().probes[].peers`), and a bounded record of the
 * agreement's decisions and proposals as this node saw them.
 *
 * The agreement announces nothing by itself, so the record compares it with
 * what it held at the last look: after every detection round, every switch,
 * every agreement step (the manager's `agreement` event, recorded too) and
 * every `GET /cluster`. A report is recorded when a member's measures
 * differ from its last recorded ones (members report again and again, most
 * often the same: the members' table shows how old each latest report is);
 * a member that reported more than once between two looks shows as its
 * latest report. Text from peers (member names, reasons, the engine's name)
 * is cut to a bounded length; the dashboard escapes it.
 *
 * @module
 */
import type { ModeAgreementStats } from "../../core/contracts/mode_agreement.ts";
import type { Mode } from "../../core/contracts/mode.ts";
import { MEASURES, type NetworkSample } from "../../core/contracts/sample.ts";
import type { ExtensionHost } from "../../core/control/extension_host.ts";
import { History } from "../../core/control/history.ts";
import type { HybridStats } from "../../core/control/manager_stats.ts";
import type { AdminCluster, ClusterEvent } from "./client.ts";
import { truncate } from "./guard.ts";

/** Longest member name, reason or engine name kept in an event. */
const MAX_TEXT = 500;

/** A bounded record of the agreement's changes, and the cluster view built on it. */
export interface ClusterRecord {
  /** Looks at the agreement now and records what changed since the last look. */
  observe(): void;
  /** The recorded events, oldest first. */
  events(): ClusterEvent[];
  /** What `GET /cluster` answers (after a look). */
  view(): AdminCluster;
  /** Stops recording. */
  close(): void;
}

/** What the record remembers of the last look. */
interface Seen {
  mode: Mode;
  index: number;
  forced: boolean;
  engine: string;
  epoch: number;
  /** Each member's last recorded measures, as a key. */
  reports: Map<string, string>;
  holds: Map<string, Mode | null>;
}

/** The measures of `summary`, nothing else. */
const measures = (summary: NetworkSample): NetworkSample => {
  const copy: NetworkSample = {};
  for (const measure of MEASURES) if (typeof summary[measure] === "number") copy[measure] = summary[measure];
  return copy;
};
/** A key equal for equal measures. */
const measuresKey = (summary: NetworkSample) => MEASURES.map((measure) => summary[measure] ?? "-").join("|");

/** Records the last `limit` changes of `manager`'s agreement, from now on. */
export function recordCluster(manager: ExtensionHost, limit: number): ClusterRecord {
  const history = new History<ClusterEvent>(limit);
  let seen: Seen | undefined;

  /** Records what `agreement` holds that the last look did not: proposals first, then what they led to. */
  function compare(agreement: ModeAgreementStats | undefined): void {
    if (!agreement) return;
    const atMs = manager.clock.now();
    const reports = new Map(seen?.reports);
    for (const [member, report] of Object.entries(agreement.reports)) {
      const key = measuresKey(report.summary);
      if (reports.get(member) === key) continue;
      reports.set(member, key);
      history.push({
        kind: "report",
        atMs,
        member: truncate(member, MAX_TEXT),
        reportedAtMs: report.atMs,
        summary: measures(report.summary),
      });
    }
    const holds = new Map(Object.entries(agreement.holds));
    for (const member of new Set([...(seen?.holds.keys() ?? []), ...holds.keys()])) {
      const mode = holds.get(member) ?? null;
      if (mode === (seen?.holds.get(member) ?? null)) continue;
      history.push({ kind: "force", atMs, member: truncate(member, MAX_TEXT), mode });
    }
    const { agreed, engine, epoch } = agreement;
    if (!seen || seen.index !== agreed.index || seen.mode !== agreed.mode || seen.forced !== agreed.forced) {
      history.push({
        kind: "decision",
        atMs,
        mode: agreed.mode,
        from: seen?.mode ?? null,
        reason: truncate(agreed.reason, MAX_TEXT),
        index: agreed.index,
        forced: agreed.forced,
      });
    }
    if (!seen || seen.engine !== engine || seen.epoch !== epoch) {
      history.push({
        kind: "engine",
        atMs,
        engine: truncate(engine, MAX_TEXT),
        epoch,
        from: seen ? truncate(seen.engine, MAX_TEXT) : null,
      });
    }
    seen = { mode: agreed.mode, index: agreed.index, forced: agreed.forced, engine, epoch, reports, holds };
  }

  const observe = () => compare(manager.getStats().agreement);
  const offs = [
    manager.on("sample", observe),
    manager.on("switch", observe),
    manager.on("switch-failed", observe),
    manager.on("switch-refused", observe),
    manager.on("agreement", ({ switchId, wanted, clusterMode, status }) => {
      observe();
      // Stamped now, as the rest (the event's own time can be a moment before the look just made).
      history.push({ kind: "step", atMs: manager.clock.now(), switchId, wanted, clusterMode, status });
    }),
  ];
  observe();

  return {
    observe,
    events: () => history.list(),
    view(): AdminCluster {
      const stats: HybridStats = manager.getStats();
      compare(stats.agreement);
      return {
        nodeId: stats.nodeId,
        nowMs: manager.clock.now(),
        agreement: stats.agreement ?? null,
        probes: stats.probes.flatMap(({ name, peers }) => peers ? [{ name, peers }] : []),
        ...(stats.links ? { links: stats.links } : {}),
        events: history.list(),
      };
    },
    close: () => {
      for (const off of offs) off();
    },
  };
}
