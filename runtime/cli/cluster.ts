/**
 * `switchyard cluster`: every node's state, side by side, from each node's
 * own `GET /status` (no token needed): its manager's mode, the cluster's
 * agreed mode, the engine and epoch, its role, how far it applied, and a
 * digest of its store (nodes that applied the same writes show the same).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { ValidationError } from "../../mod.ts";
import { readClusterNodeConfig } from "../node/config.ts";
import { EXIT_FAILED, HELP_OPTION, parseCommandLine, usageError } from "./args.ts";

const PROGRAM = "switchyard cluster";

/** The help text. */
export const CLUSTER_USAGE = `usage: switchyard cluster (--config FILE | --node URL ...) [--json]

Shows every node's state: mode, agreed cluster mode, engine and epoch, role, applied index, store digest.

options:
  --config FILE   a node's configuration: this node and every peer it lists
  --node URL      a node's key-value URL (repeat for each); instead of --config
  --json          print JSON instead of a table
  -h, --help      this text

exit codes: 0 every node answered; 1 some did not; 2 bad usage`;

/** One node's row. */
interface Row {
  id: string;
  url: string;
  status?: Record<string, unknown>;
  error?: string;
}

/** Runs the command with `args` (those after `cluster`). */
export async function clusterCommand(args: string[]): Promise<void> {
  const { values } = parseCommandLine(PROGRAM, CLUSTER_USAGE, (input) =>
    parseArgs({
      args: input,
      strict: true,
      options: {
        config: { type: "string" },
        node: { type: "string", multiple: true },
        json: { type: "boolean", default: false },
        ...HELP_OPTION,
      },
    }), args);
  const targets: { id: string; url: string }[] = [];
  if (values.config) {
    const config = await readClusterNodeConfig(values.config).catch((error) => {
      usageError(PROGRAM, error instanceof ValidationError ? error.message : `--config: ${(error as Error).message}`);
    });
    targets.push({ id: config.id, url: `http://${config.listen.http}` });
    for (const [id, peer] of Object.entries(config.peers)) targets.push({ id, url: `http://${peer.http}` });
  }
  for (const url of values.node ?? []) {
    if (!/^https?:\/\/[^/]+/.test(url)) usageError(PROGRAM, `--node must be an http(s) URL, got "${url}"`);
    targets.push({ id: url, url: url.replace(/\/$/, "") });
  }
  if (targets.length === 0) usageError(PROGRAM, "give --config FILE or at least one --node URL");
  const rows: Row[] = await Promise.all(targets.map(async ({ id, url }) => {
    try {
      const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(3_000) });
      if (!response.ok) return { id, url, error: `HTTP ${response.status}` };
      const status = await response.json() as Record<string, unknown>;
      return { id: String(status.nodeId ?? id), url, status };
    } catch (error) {
      return { id, url, error: (error as Error).message };
    }
  }));
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else console.log(table(rows));
  if (rows.some((row) => row.error)) process.exit(EXIT_FAILED);
}

function table(rows: Row[]): string {
  const header = ["node", "mode", "agreed", "engine", "role", "applied", "store", "url"];
  const lines = rows.map((row) => {
    const s = row.status;
    if (!s) return [row.id, "down", "", "", "", "", "", `${row.url} (${row.error})`];
    const agreed = s.agreed as { mode?: string; forced?: boolean } | undefined;
    return [
      row.id,
      String(s.mode ?? "?"),
      `${agreed?.mode ?? "?"}${agreed?.forced ? " (held)" : ""}`,
      s.engine !== undefined ? `${s.engine}#${s.epoch}` : String(s.engine ?? "?"),
      String(s.role ?? "?"),
      String(s.appliedIndex ?? "?"),
      String(s.storeDigest ?? "?"),
      row.url,
    ];
  });
  const widths = header.map((_, i) => Math.max(header[i].length, ...lines.map((line) => line[i].length)));
  return [header, ...lines].map((line) => line.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join(
    "\n",
  );
}
