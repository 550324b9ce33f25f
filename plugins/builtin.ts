/**
 * The built-in plugins, each behind a literal dynamic import so that
 * `deno publish` and bundlers can see every module, and nothing is loaded
 * unless a manifest names it.
 *
 * @module
 */
import type { BuiltinModules } from "../core/loading/loader.ts";

/** Built-in plugin modules by id, for `builtin:<id>` manifest entries. */
export const BUILTIN_PLUGINS: BuiltinModules = {
  "admin-http": () => import("./admin-http/mod.ts"),
  "compress-adaptive": () => import("./compress-adaptive/mod.ts"),
  "compress-lz4": () => import("./compress-lz4/mod.ts"),
  "compress-none": () => import("./compress-none/mod.ts"),
  "compress-zstd": () => import("./compress-zstd/mod.ts"),
  "consensus-pbft": () => import("./consensus-pbft/mod.ts"),
  "consensus-adaptive": () => import("./consensus-adaptive/mod.ts"),
  "consensus-raft": () => import("./consensus-raft/mod.ts"),
  "probe-bandwidth": () => import("./probe-bandwidth/mod.ts"),
  "probe-replay": () => import("./probe-replay/mod.ts"),
  "probe-rtt": () => import("./probe-rtt/mod.ts"),
  "transport-adaptive": () => import("./transport-adaptive/mod.ts"),
  "transport-links": () => import("./transport-links/mod.ts"),
  "transport-memory": () => import("./transport-memory/mod.ts"),
  "transport-rdma": () => import("./transport-rdma/mod.ts"),
  "transport-tcp": () => import("./transport-tcp/mod.ts"),
};
