/**
 * A replicated key-value store on the consensus contract, and its HTTP API:
 * the application `switchyard node` runs, and an example of an application
 * on any engine (Raft, PBFT, the adaptive engine).
 *
 * @example
 * ```ts ignore
 * import { KvStore, kvHttpApi } from "@switchyard/hybrid/kv";
 * const store = new KvStore(manager.getComponent(CONSENSUS));
 * await store.start();
 * const api = kvHttpApi({ consensus: store.consensus, machine: store.machine, leaderUrl: (id) => urls[id] ?? null });
 * ```
 *
 * @module
 */
export { KvStore } from "./store.ts";
export { decodeKvCommand, encodeKvCommand, KvStateMachine } from "./state_machine.ts";
export type { KvCommand } from "./state_machine.ts";
export { CLIENT_ID_HEADER, CLIENT_SEQUENCE_HEADER, kvHttpApi } from "./http.ts";
export type { KvHttpApi, KvHttpApiOptions, KvHttpCounts } from "./http.ts";
export { adaptiveRoutes } from "./adaptive_http.ts";
export type { AdaptiveRoutes } from "./adaptive_http.ts";
