/**
 * The `switchyard` command: runs a node, and steers and inspects nodes
 * through their admin endpoints. Runs on Deno (`deno task cli …`), Bun
 * (`bun runtime/cli/main.ts …`) and Node (the npm package's `switchyard`
 * command); `node`, whose TCP transports are Deno's and Bun's, needs one of
 * those two. Every command takes `--help`; exit codes: 0 done, 1 failed (a
 * node refused, could not be reached, did not start), 2 bad usage.
 *
 * @module
 */
import process from "node:process";
export { EXIT_FAILED, EXIT_USAGE, HELP_OPTION, parseCommandLine, usageError } from "./args.ts";
import { ADMIN_COMMANDS, ADMIN_USAGE, adminCommand } from "./admin.ts";
import { usageError } from "./args.ts";
import { benchCommand } from "./bench.ts";
import { clusterCommand } from "./cluster.ts";
import { nodeCommand } from "./node.ts";

/** The help text. */
export const USAGE = `usage: switchyard <command> [options]     (deno task cli …, bun runtime/cli/main.ts …)

commands:
  node --config FILE        run one node for real (see: switchyard node --help)
  cluster                   every node's state side by side (--config FILE or --node URL ...)
  mode set <mode>           hold this node in a mode: datacenter, internet, hybrid (--hold-ms N, --reason TEXT)
  mode auto                 release the hold: the measurements decide again
  plugins                   the plugins this node loaded, failed or disabled, and why
  bench                     this machine's codecs, and with --peer the link to a node
${ADMIN_USAGE}

Every command takes --help.
exit codes: 0 done; 1 the node answered with an error, refused or rolled back the switch,
            or could not be reached, or did not start; 2 bad usage`;

/**
 * Runs the command `argv` names (the arguments after the program). Exits
 * the process when the command ends (`node` runs until a signal stops it).
 */
export async function runCli(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case "node":
      await nodeCommand(args);
      break; // runs until a signal stops it
    case "cluster":
      await clusterCommand(args);
      process.exit(0);
      break;
    case "bench":
      await benchCommand(args);
      process.exit(0);
      break;
    case "mode": {
      const [action, ...rest] = args;
      if (action === "set") await adminCommand("force", rest);
      else if (action === "auto") await adminCommand("resume", rest);
      else if (action === "--help" || action === "-h") await adminCommand("mode", ["--help"]);
      else usageError("switchyard mode", `expected "set <mode>" or "auto", got ${JSON.stringify(action ?? "")}`);
      process.exit(0);
      break;
    }
    case undefined:
      usageError("switchyard", "no command given");
      break;
    case "-h":
    case "--help":
      console.log(USAGE);
      process.exit(0);
      break;
    default:
      if (!(ADMIN_COMMANDS as readonly string[]).includes(command)) {
        usageError("switchyard", `unknown command "${command}"`);
      }
      await adminCommand(command, args);
      process.exit(0);
  }
}

if (import.meta.main) await runCli(process.argv.slice(2));
