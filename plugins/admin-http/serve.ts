/**
 * Serving a fetch handler on the runtime's own server, chosen by a literal
 * dynamic import: `serve_deno.ts` (`Deno.serve`), `serve_bun.ts` (`Bun.serve`)
 * or `serve_node.ts` (`node:http` through Hono's Node adapter).
 *
 * @module
 */
import { ADMIN_ERRORS } from "./errors.ts";
import { currentRuntime } from "../../core/util/runtime.ts";

export type { RunningServer, ServeOptions } from "./serve_types.ts";
import type { RunningServer, ServeOptions } from "./serve_types.ts";

/** Starts the runtime's HTTP server. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const runtime = currentRuntime();
  if (runtime === "bun") return (await import("./serve_bun.ts")).serveBun(options);
  if (runtime === "deno") return (await import("./serve_deno.ts")).serveDeno(options);
  const node = await import("./serve_node.ts").catch((error: Error) => {
    throw ADMIN_ERRORS.error(
      "ADMIN_SERVER_UNAVAILABLE",
      `admin-http serves with Deno.serve, Bun.serve or node:http; none is available here (${error.message})`,
      { cause: error },
    );
  });
  return node.serveNode(options);
}
