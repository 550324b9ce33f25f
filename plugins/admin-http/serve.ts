/**
 * Serving a fetch handler on the runtime's own server, chosen by a literal
 * dynamic import: `serve_deno.ts` (`Deno.serve`) or `serve_bun.ts` (`Bun.serve`).
 *
 * @module
 */
import { currentRuntime } from "../../core/util/runtime.ts";

/** A listening server. */
export interface RunningServer {
  /** The bound address. */
  hostname: string;
  /** The bound port (useful when 0 was asked for). */
  port: number;
  /** Stops accepting and closes open connections. */
  close(): Promise<void>;
}

/** What to serve where. */
export interface ServeOptions {
  hostname: string;
  port: number;
  fetch: (request: Request) => Response | Promise<Response>;
}

/** Starts the runtime's HTTP server. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const runtime = currentRuntime();
  if (runtime === "bun") return (await import("./serve_bun.ts")).serveBun(options);
  if (runtime === "deno") return (await import("./serve_deno.ts")).serveDeno(options);
  throw new Error("admin-http serves on Deno or Bun; this runtime has neither Deno.serve nor Bun.serve");
}
