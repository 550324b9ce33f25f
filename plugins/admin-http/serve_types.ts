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
  hostname: string;
  port: number;
  fetch: (request: Request) => Response | Promise<Response>;
}
