/**
 * `Deno.serve` behind {@linkcode serve}.
 *
 * @module
 */
import type { RunningServer, ServeOptions } from "./serve.ts";

/** Serves with `Deno.serve`; resolves once listening. */
export function serveDeno(options: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: options.hostname,
        port: options.port,
        onListen: ({ hostname, port }) =>
          resolve({
            hostname,
            port,
            close: async () => {
              await server.shutdown();
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
