/**
 * Node's `http` server through Hono's Node adapter (`@hono/node-server`)
 * behind {@linkcode serve}.
 *
 * @module
 */
import { createAdaptorServer } from "@hono/node-server";
import type { Server } from "node:http";
import type { RunningServer, ServeOptions } from "./serve_types.ts";

const internalError = () =>
  new Response(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }), {
    status: 500,
    headers: { "content-type": "application/json" },
  });

/**
 * Serves with `node:http`; resolves once listening, rejects when the address
 * cannot be bound. The adapter leaves the global `Request` and `Response`
 * alone (`overrideGlobalObjects: false`: they belong to the application).
 * `close()` stops accepting and ends open connections too, event streams
 * included, like the other runtimes' servers.
 */
export function serveNode(options: ServeOptions): Promise<RunningServer> {
  const server = createAdaptorServer({
    overrideGlobalObjects: false,
    fetch: async (request: Request) => {
      try {
        return await options.fetch(request);
      } catch {
        return internalError();
      }
    },
  }) as Server;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : options.port;
      const hostname = typeof address === "object" && address !== null ? address.address : options.hostname;
      resolve({
        hostname,
        port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
