/**
 * The `switchyard` commands that talk to a node's admin endpoint through the
 * typed client: status, stats, history, samples, flags, metrics, detect,
 * resume, force (`mode set`), set-flag, and plugins; see
 * {@linkcode ADMIN_USAGE} for the options.
 *
 * @module
 */
import { env } from "node:process";
import process from "node:process";
import { parseArgs } from "node:util";
import { SwitchyardError } from "../../core/util/errors.ts";
import { DEFAULT_FLAGS } from "../../core/control/flags.ts";
import { isMode, MODES } from "../../core/contracts/mode.ts";
import { AdminApiError, adminClient, AdminConnectionError } from "../../plugins/admin-http/client.ts";
import { FLAG_PATCH_NAMES, flagsPatchIssue } from "../../plugins/admin-http/schemas.ts";
import { HELP_OPTION, parseCommandLine, usageError } from "./args.ts";

const PROGRAM = "switchyard";
const FLAG_NAMES = FLAG_PATCH_NAMES;

/** The commands this module runs. */
export const ADMIN_COMMANDS = [
  "status",
  "stats",
  "history",
  "samples",
  "flags",
  "metrics",
  "detect",
  "resume",
  "force",
  "set-flag",
  "plugins",
] as const;

/** The admin commands' part of the help text. */
export const ADMIN_USAGE = `  status | stats | history | samples | flags | metrics | detect | resume
                            this node's manager, through its admin endpoint
  force <${MODES.join("|")}> [--reason TEXT] [--hold-ms N]   (the same as mode set)
  set-flag <name> <value>   ${FLAG_NAMES.join(", ")}
                            (true or false; v3RolloutPercentage a number from 0 to 100)

options of the commands that talk to a node's admin endpoint:
  --url URL       the admin endpoint, path prefix included
                  (default $SWITCHYARD_ADMIN_URL, else http://127.0.0.1:7070)
  --token TOKEN   the bearer token (default $SWITCHYARD_TOKEN)
  --reason TEXT   why, for force and mode set (default "forced from the CLI")
  --hold-ms N     for force and mode set: release the hold by itself after N milliseconds (N > 0)`;

/** Runs the admin command `command` with `args` (the arguments after it); exits 1 when the node refused or failed. */
export async function adminCommand(command: string, args: string[]): Promise<void> {
  const usage = `usage: switchyard ${command === "force" ? "mode set <mode>" : command} [options]\n\n${ADMIN_USAGE}`;
  const { values, positionals } = parseCommandLine(`${PROGRAM} ${command}`, usage, (input) =>
    parseArgs({
      args: input,
      strict: true,
      allowPositionals: true,
      options: {
        url: { type: "string", default: env.SWITCHYARD_ADMIN_URL ?? "http://127.0.0.1:7070" },
        token: { type: "string", ...(env.SWITCHYARD_TOKEN ? { default: env.SWITCHYARD_TOKEN } : {}) },
        reason: { type: "string", default: "forced from the CLI" },
        "hold-ms": { type: "string" },
        ...HELP_OPTION,
      },
    }), args);

  const rest = positionals;
  const print = (data: unknown) => console.log(typeof data === "string" ? data : JSON.stringify(data, null, 2));
  const expectArguments = (count: number, shape: string) => {
    if (rest.length !== count) usageError(PROGRAM, `${command} takes ${shape}, got ${JSON.stringify(rest)}`);
  };

  /** The value of `set-flag NAME RAW`, checked against the same schema the server uses. */
  function flagValue(name: string, raw: string): boolean | number {
    if (!FLAG_NAMES.includes(name)) {
      usageError(PROGRAM, `set-flag: unknown flag "${name}"; one of ${FLAG_NAMES.join(", ")}`);
    }
    const isBoolean = typeof DEFAULT_FLAGS[name as keyof typeof DEFAULT_FLAGS] === "boolean";
    let value: boolean | number;
    if (isBoolean) {
      if (raw !== "true" && raw !== "false") {
        usageError(PROGRAM, `set-flag ${name}: must be true or false, got "${raw}"`);
      }
      value = raw === "true";
    } else {
      value = raw.trim() === "" ? NaN : Number(raw);
      if (!Number.isFinite(value)) usageError(PROGRAM, `set-flag ${name}: must be a number, got "${raw}"`);
    }
    const issue = flagsPatchIssue({ [name]: value });
    if (issue) usageError(PROGRAM, `set-flag ${name}: ${issue}, got ${raw}`);
    return value;
  }

  /** `--hold-ms`, checked. */
  function holdMs(): number | undefined {
    const raw = values["hold-ms"];
    if (raw === undefined) return undefined;
    const value = raw.trim() === "" ? NaN : Number(raw);
    if (!(Number.isFinite(value) && value > 0)) {
      usageError(PROGRAM, `--hold-ms must be a number of milliseconds greater than 0, got "${raw}"`);
    }
    return value;
  }

  let client: ReturnType<typeof adminClient>;
  try {
    client = adminClient(values.url!, values.token);
  } catch (error) {
    if (error instanceof SwitchyardError) usageError(PROGRAM, `--url: ${error.message}`);
    throw error;
  }

  try {
    switch (command) {
      case "status":
      case "stats":
      case "history":
      case "samples":
      case "flags":
      case "metrics":
      case "detect":
      case "resume": {
        expectArguments(0, "no arguments");
        const calls = {
          status: client.status,
          stats: client.stats,
          history: client.history,
          samples: client.samples,
          flags: client.flags,
          metrics: client.metrics,
          detect: client.detect,
          resume: client.resume,
        } as const;
        print(await calls[command]());
        break;
      }
      case "plugins": {
        expectArguments(0, "no arguments");
        const { plugins } = await client.stats();
        for (const plugin of plugins) {
          const reason = plugin.reason ? `  ${plugin.reason}` : "";
          console.log(`${plugin.id.padEnd(22)} ${plugin.state.padEnd(9)} ${(plugin.version ?? "").padEnd(8)}${reason}`);
        }
        if (plugins.some((plugin) => plugin.state === "failed")) process.exit(1);
        break;
      }
      case "force": {
        expectArguments(1, "one mode");
        const mode = rest[0];
        if (!isMode(mode)) usageError(PROGRAM, `force: mode must be one of ${MODES.join(", ")}, got "${mode}"`);
        const outcome = await client.forceMode(mode, values.reason!, holdMs());
        print(outcome);
        if (outcome.status === "refused" || outcome.status === "failed") {
          console.error(`${PROGRAM}: the node ${outcome.status} the switch to ${mode}: ${outcome.reason}`);
          process.exit(1);
        }
        break;
      }
      case "set-flag": {
        expectArguments(2, "a flag name and a value");
        const [name, raw] = rest;
        print(await client.setFlags({ [name]: flagValue(name, raw) }));
        break;
      }
      case undefined:
        usageError(PROGRAM, "no command given");
        break;
      default:
        usageError(PROGRAM, `unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof AdminApiError || error instanceof AdminConnectionError) {
      console.error(`${PROGRAM}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}
