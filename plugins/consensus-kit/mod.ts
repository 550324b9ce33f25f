/**
 * What consensus engines share: the client table and the deduplicating state
 * machine every engine applies its log through, so a retried command executes
 * once whichever engine committed it. For writing engines.
 *
 * @module
 */
export { ClientTable, DEFAULT_CLIENT_TABLE_LIMITS } from "./client_table.ts";
export type { Admission, CachedOutcome, ClientRecord, ClientTableLimits } from "./client_table.ts";
export { DeduplicatingStateMachine } from "./deduplicating_machine.ts";
export type { ApplyOutcome, DeduplicationOptions, DeduplicationStats } from "./deduplicating_machine.ts";
