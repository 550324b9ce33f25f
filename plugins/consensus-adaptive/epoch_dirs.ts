/**
 * Where each epoch's engine keeps its log under a replica's data directory
 * (`<dataDir>/epoch-<n>/`), and the removal of the logs of epochs that are
 * over: once an epoch's engine has closed for good, nothing reads its log
 * again (a restarted replica starts from the newest handover, a lagging one
 * fetches the handover from its peers), so without this every switch would
 * leave a log behind for ever.
 *
 * @module
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const EPOCH_DIR = /^epoch-(\d+)$/;

/** The directory of epoch `epoch`'s log. */
export function epochDir(dataDir: string, epoch: number): string {
  return join(dataDir, `epoch-${epoch}`);
}

/**
 * Removes the logs of every epoch below `epoch` under `dataDir`; returns the
 * epochs removed. Nothing else in the directory is touched; a missing
 * directory is no error.
 */
export async function discardEpochDirs(dataDir: string, epoch: number): Promise<number[]> {
  const entries = await readdir(dataDir, { withFileTypes: true }).catch((error) => {
    if ((error as { code?: string }).code === "ENOENT") return [];
    throw error;
  });
  const removed: number[] = [];
  for (const entry of entries) {
    const match = EPOCH_DIR.exec(entry.name);
    if (!match || !entry.isDirectory() || Number(match[1]) >= epoch) continue;
    await rm(join(dataDir, entry.name), { recursive: true, force: true });
    removed.push(Number(match[1]));
  }
  return removed.sort((a, b) => a - b);
}
