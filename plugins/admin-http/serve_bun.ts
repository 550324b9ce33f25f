/**
 * `Bun.serve` behind {@linkcode serve}.
 *
 * @module
 */
import type { RunningServer, ServeOptions } from "./serve_types.ts";

interface BunServer {
  hostname: string;
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunGlobal {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    fetch: ServeOptions["fetch"];
    error: () => Response;
  }): BunServer;
}

/** Serves with `Bun.serve`; event streams are kept open (no idle timeout; they send heartbeats). */
export function serveBun(options: ServeOptions): Promise<RunningServer> {
  const bun = (globalThis as unknown as { Bun: BunGlobal }).Bun;
  const server = bun.serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: 0,
    fetch: options.fetch,
    error: () =>
      new Response(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      }),
  });
  return Promise.resolve({
    hostname: server.hostname,
    port: server.port,
    close: async () => {
      await server.stop(true);
    },
  });
}
