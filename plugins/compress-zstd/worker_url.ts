/**
 * Where the zstd worker's module is. In the source tree it is `worker.ts`
 * beside this file; the npm build (`tools/build_npm.ts`) replaces this module
 * with one naming the bundled worker, which sits beside every chunk.
 *
 * @module
 */

/** The URL of the module the zstd pool runs on its threads. */
export const ZSTD_WORKER_URL: URL = new URL("./worker.ts", import.meta.url);
