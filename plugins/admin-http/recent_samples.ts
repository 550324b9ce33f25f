/**
 * The last detection rounds, kept for `GET /samples` so the dashboard's
 * charts are full as soon as it loads, not only after the next events.
 *
 * @module
 */
import { History } from "../../core/control/history.ts";
import type { ExtensionHost } from "../../core/control/extension_host.ts";
import type { RecentSample } from "./client.ts";

/** A bounded record of the manager's `sample` events. */
export interface RecentSamples {
  /** The kept rounds, oldest first. */
  list(): RecentSample[];
  /** Stops recording. */
  close(): void;
}

/** Records the last `limit` rounds of `manager`, from now on. */
export function recordRecentSamples(manager: ExtensionHost, limit: number): RecentSamples {
  const history = new History<RecentSample>(limit);
  const off = manager.on("sample", ({ atMs, sample, summary }) => history.push({ atMs, sample, summary }));
  return { list: () => history.list(), close: off };
}
