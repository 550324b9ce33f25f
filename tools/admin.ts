/**
 * The admin CLI: talks to a node's admin endpoint through the typed client.
 *
 * Usage: `deno task admin <command> [--url URL] [--token TOKEN]`
 *   status | stats | history | flags | metrics | detect | resume
 *   force <datacenter|internet|hybrid> [--reason TEXT] [--hold-ms N]
 *   set-flag <name> <value>
 * The URL defaults to $SWITCHYARD_ADMIN_URL or http://127.0.0.1:7070, the
 * token to $SWITCHYARD_TOKEN.
 *
 * @module
 */
import { env } from "node:process";
import { parseArgs } from "node:util";
import { isMode } from "../core/mode.ts";
import { AdminApiError, adminClient } from "../plugins/admin-http/client.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    url: { type: "string", default: env.SWITCHYARD_ADMIN_URL ?? "http://127.0.0.1:7070" },
    token: { type: "string", default: env.SWITCHYARD_TOKEN },
    reason: { type: "string", default: "forced from the CLI" },
    "hold-ms": { type: "string" },
  },
});
const client = adminClient(values.url!, values.token);
const [command, ...rest] = positionals;
const print = (data: unknown) => console.log(typeof data === "string" ? data : JSON.stringify(data, null, 2));

try {
  switch (command) {
    case "status":
      print(await client.status());
      break;
    case "stats":
      print(await client.stats());
      break;
    case "history":
      print(await client.history());
      break;
    case "flags":
      print(await client.flags());
      break;
    case "metrics":
      print(await client.metrics());
      break;
    case "detect":
      print(await client.detect());
      break;
    case "resume":
      print(await client.resume());
      break;
    case "force": {
      const mode = rest[0];
      if (!isMode(mode)) throw new Error(`force: mode must be datacenter, internet or hybrid, got ${mode}`);
      const holdMs = values["hold-ms"] === undefined ? undefined : Number(values["hold-ms"]);
      print(await client.forceMode(mode, values.reason!, holdMs));
      break;
    }
    case "set-flag": {
      const [name, raw] = rest;
      if (!name || raw === undefined) throw new Error("set-flag: give a flag name and a value");
      const value = raw === "true" ? true : raw === "false" ? false : Number(raw);
      print(await client.setFlags({ [name]: value }));
      break;
    }
    default:
      console.error(
        "usage: deno task admin <status|stats|history|flags|metrics|detect|resume|force MODE|set-flag NAME VALUE>",
      );
      Deno.exit(2);
  }
} catch (error) {
  console.error(error instanceof AdminApiError ? error.message : `error: ${(error as Error).message}`);
  Deno.exit(1);
}
