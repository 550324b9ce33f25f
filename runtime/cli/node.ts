/**
 * `switchyard node --config FILE`: runs one node for real, on one host or
 * across hosts (the configuration names every address; see
 * `runtime/node/config.ts`), until SIGINT or SIGTERM stops it cleanly.
 * Prints `ready <id>` once it serves.
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { consoleLogger, SwitchyardError, ValidationError } from "../../mod.ts";
import { readClusterNodeConfig } from "../node/config.ts";
import { runNode } from "../node/run.ts";
import { EXIT_FAILED, HELP_OPTION, parseCommandLine, usageError } from "./args.ts";

const PROGRAM = "switchyard node";

/** The help text. */
export const NODE_USAGE = `usage: switchyard node --config FILE [--quiet] [--exit-with-stdin]

Runs one node: its manager from the manifest its configuration makes (probes towards every peer, the adaptive
transport, the adaptive consensus, per-mode compressors, the admin endpoint and dashboard), the replicated
key-value store on that consensus, and the store's HTTP API. The configuration (JSON) is described in
docs/operations.md; every bad field is named. The admin endpoint's token comes from the variable the
configuration names (SWITCHYARD_TOKEN by default): at least 16 characters, or the node does not start.
Runs on Deno and Bun (the TCP transports are not available on Node). SIGINT or SIGTERM stops it cleanly;
a second signal stops it at once.

options:
  --config FILE       the node's configuration
  --quiet             log errors only (default: warnings too)
  --exit-with-stdin   stop cleanly when standard input closes (for a launcher whose end should end its nodes)
  -h, --help          this text

exit codes: 0 stopped by a signal; 1 failed to start; 2 bad usage or a bad configuration`;

/** Runs the command with `args` (those after `node`). */
export async function nodeCommand(args: string[]): Promise<void> {
  const { values } = parseCommandLine(PROGRAM, NODE_USAGE, (input) =>
    parseArgs({
      args: input,
      strict: true,
      options: {
        config: { type: "string" },
        quiet: { type: "boolean", default: false },
        "exit-with-stdin": { type: "boolean", default: false },
        ...HELP_OPTION,
      },
    }), args);
  if (!values.config) usageError(PROGRAM, "--config FILE is required");
  const config = await readClusterNodeConfig(values.config).catch((error) => {
    if (error instanceof ValidationError) usageError(PROGRAM, error.message);
    usageError(PROGRAM, `--config: ${(error as Error).message}`);
  });
  const logger = consoleLogger(values.quiet ? "error" : "warn", `node ${config.id}`);
  let node;
  try {
    node = await runNode(config, logger);
  } catch (error) {
    console.error(`${PROGRAM}: ${error instanceof SwitchyardError ? error.message : String(error)}`);
    process.exit(EXIT_FAILED);
  }
  console.log(`ready ${config.id}`);
  console.log(`  key-value http://${config.listen.http}   dashboard http://${config.listen.admin}/`);
  let closing: Promise<void> | undefined;
  /** Closes the node once, however many times it is asked, then exits. */
  const stop = () => {
    closing ??= node.close().then(
      () => process.exit(0),
      (error) => {
        console.error(`${PROGRAM}: closing failed: ${(error as Error).message}`);
        process.exit(EXIT_FAILED);
      },
    );
  };
  /** A first signal stops cleanly; a second, while closing, at once. */
  const onSignal = () => (closing ? process.exit(EXIT_FAILED) : stop());
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  if (values["exit-with-stdin"]) {
    process.stdin.on("end", stop);
    process.stdin.on("close", stop);
    process.stdin.resume();
  }
}
