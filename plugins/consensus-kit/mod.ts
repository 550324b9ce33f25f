/**
 * What consensus engines share: the client command's encoding (the command
 * and its client identity in one proposal), the client table and the
 * deduplicating state machine every engine applies its log through, so a retried command executes
 * once whichever engine committed it. For writing engines.
 *
 * @module
 */
export {
  clientRequestOf,
  decodeClientCommand,
  encodeClientCommand,
  encodeProposal,
  MAX_CLIENT_ID_LENGTH,
} from "../../core/contracts/client_command.ts";
export type { ClientCommand } from "../../core/contracts/client_command.ts";
export { ClientTable, DEFAULT_CLIENT_TABLE_LIMITS } from "./client_table.ts";
export type { Admission, CachedOutcome, ClientRecord, ClientTableLimits } from "./client_table.ts";
export { DeduplicatingStateMachine } from "./deduplicating_machine.ts";
export type { ApplyOutcome, DeduplicationOptions, DeduplicationStats } from "./deduplicating_machine.ts";
