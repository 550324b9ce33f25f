/**
 * The replicated key-value store's state machine: string keys and values,
 * `put`, `append` and `delete` commands, JSON snapshots. Deterministic, so
 * every replica that applies the same commands holds the same map. `append`
 * is not idempotent: applied twice, it shows (which is why clients send
 * every write with a client identity).
 *
 * @module
 */
import { type ConsensusStateMachine, SwitchyardError } from "../../mod.ts";

/** A command of the key-value store. */
export type KvCommand =
  | { op: "put"; key: string; value: string }
  | { op: "append"; key: string; value: string }
  | { op: "delete"; key: string };

const OPS: readonly string[] = ["put", "append", "delete"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command for `Consensus.propose`. */
export function encodeKvCommand(command: KvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/** Decodes a command; throws on bytes that are not one. */
export function decodeKvCommand(bytes: Uint8Array): KvCommand {
  const command = JSON.parse(decoder.decode(bytes)) as KvCommand;
  if (typeof command?.key !== "string" || !OPS.includes(command.op)) {
    throw new SwitchyardError("INVALID_ARGUMENT", `not a key-value command: ${decoder.decode(bytes).slice(0, 80)}`);
  }
  if (command.op !== "delete" && typeof command.value !== "string") {
    throw new SwitchyardError("INVALID_ARGUMENT", `${command.op} needs a string value`);
  }
  return command;
}

/**
 * The map every replica holds. `apply` returns the value the key had before.
 *
 * @example
 * ```ts
 * import { encodeKvCommand, KvStateMachine } from "./state_machine.ts";
 * const machine = new KvStateMachine();
 * machine.apply(encodeKvCommand({ op: "put", key: "a", value: "1" }));
 * machine.get("a"); // "1"
 * ```
 */
export class KvStateMachine implements ConsensusStateMachine<string | null> {
  #map = new Map<string, string>();

  /** Applies one committed command; returns the previous value of its key. */
  apply(command: Uint8Array): string | null {
    const decoded = decodeKvCommand(command);
    const previous = this.#map.get(decoded.key) ?? null;
    if (decoded.op === "put") this.#map.set(decoded.key, decoded.value);
    else if (decoded.op === "append") this.#map.set(decoded.key, (previous ?? "") + decoded.value);
    else this.#map.delete(decoded.key);
    return previous;
  }

  /** The value of `key`, or `null`. */
  get(key: string): string | null {
    return this.#map.get(key) ?? null;
  }

  /** Number of keys. */
  get size(): number {
    return this.#map.size;
  }

  /** The whole map as JSON bytes. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.#map]));
  }

  /** Replaces the map with a snapshot's. */
  restore(snapshot: Uint8Array): void {
    this.#map = new Map(snapshot.byteLength ? JSON.parse(decoder.decode(snapshot)) as [string, string][] : []);
  }
}
