/**
 * One node of a cluster from its configuration file: the schema and its
 * validation, the manifest it makes, and the runner (`switchyard node
 * --config FILE` runs it as a process).
 *
 * @example
 * ```ts ignore
 * import { readClusterNodeConfig, runNode } from "@switchyard/hybrid/node";
 * import { consoleLogger } from "@switchyard/hybrid";
 * const node = await runNode(await readClusterNodeConfig("/etc/switchyard/n1.json"), consoleLogger("warn"));
 * // … later
 * await node.close();
 * ```
 *
 * @module
 */
export { parseClusterNodeConfig, readClusterNodeConfig } from "./config.ts";
export type { ClusterNodeConfig } from "./config.ts";
export { clusterNodeManifest } from "./manifest.ts";
export { runNode } from "./run.ts";
export type { RunningNode } from "./run.ts";
