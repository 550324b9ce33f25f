/**
 * `Deno.serve` behind {@linkcode serve}.
 *
 * @module
 */
import type { RunningServer, ServeOptions } from "./serve_types.ts";

/**
 * Serves with `Deno.serve`; resolves once listening. `close()` aborts the
 * server's signal, which ends open connections too (like `Bun`'s
 * `stop(true)`): `shutdown()` would wait for every response to finish,
 * forever for an event stream whose client stopped reading.
 */
export function serveDeno(options: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    try {
      const abort = new AbortController();
      const server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        signal: abort.signal,
        onListen: ({ hostname, port }) =>
          resolve({
            hostname,
            port,
            close: async () => {
              abort.abort();
              await server.finished;
            },
          }),
        onError: () =>
          new Response(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }), {
            status: 500,
            headers: { "content-type": "application/json" },
          }),
      }, options.fetch);
    } catch (error) {
      reject(error);
    }
  });
}
