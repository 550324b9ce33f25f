/**
 * What the runtime servers take and give back, shared by `serve.ts` and the
 * per-runtime servers it picks.
 *
 * @module
 */

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
  /** The address to bind (e.g. `127.0.0.1`). */
  hostname: string;
  /** The port; 0 picks a free one (read it from the result). */
  port: number;
  /** Answers each request. */
  fetch: (request: Request) => Response | Promise<Response>;
}
