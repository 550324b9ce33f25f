/**
 * The admin endpoint's server for applications (`@switchyard/hybrid/admin`):
 * the runtime's own HTTP server behind one function ({@linkcode serve}:
 * `Deno.serve`, `Bun.serve`, or `node:http` through `@hono/node-server`), as
 * the admin endpoint and the key-value example use it. The admin endpoint
 * itself is the manifest plugin `builtin:admin-http`; its typed client is
 * `@switchyard/hybrid/admin-client`.
 *
 * @example
 * ```ts
 * import { serve } from "@switchyard/hybrid/admin";
 * const server = await serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 *
 * @module
 */
export { serve } from "./serve.ts";
export type { RunningServer, ServeOptions } from "./serve_types.ts";
