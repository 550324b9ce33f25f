/**
 * The replicated state machine of the simulations: a map of strings with
 * `put`, compare-and-swap and `append`, the operations the linearizability
 * checker models. Every command returns the value its key held before, from
 * which a client learns whether its cas swapped. Kept apart from the example
 * key-value store, so the simulations do not change when the example does.
 *
 * @module
 */
import type { ConsensusStateMachine } from "../../core/contracts/consensus.ts";

/** A write the clients propose. */
export type SimKvCommand =
  | { op: "put"; key: string; value: string }
  | { op: "cas"; key: string; expected: string | null; value: string }
  | { op: "append"; key: string; value: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a command for a proposal. */
export function encodeSimKvCommand(command: SimKvCommand): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

/**
 * The map a replica holds.
 *
 * @example
 * ```ts
 * const machine = new SimKvMachine();
 * machine.apply(encodeSimKvCommand({ op: "append", key: "x", value: "a" }));
 * machine.apply(encodeSimKvCommand({ op: "cas", key: "x", expected: "a", value: "b" })); // "a": it swapped
 * ```
 */
export class SimKvMachine implements ConsensusStateMachine<string | null> {
  #map = new Map<string, string>();
  readonly #onApply?: (command: SimKvCommand, index: number | undefined) => void;

  /** `onApply` hears of every command applied, with its log index when the caller gives one. */
  constructor(onApply?: (command: SimKvCommand, index: number | undefined) => void) {
    this.#onApply = onApply;
  }

  /** Applies one committed command; returns the key's previous value. */
  apply(bytes: Uint8Array, position?: { index: number }): string | null {
    const command = JSON.parse(decoder.decode(bytes)) as SimKvCommand;
    if (!["put", "cas", "append"].includes(command.op)) {
      throw new TypeError(`not a command: ${decoder.decode(bytes).slice(0, 80)}`);
    }
    this.#onApply?.(command, position?.index);
    const previous = this.#map.get(command.key) ?? null;
    if (command.op === "put") this.#map.set(command.key, command.value);
    else if (command.op === "append") this.#map.set(command.key, (previous ?? "") + command.value);
    else if (previous === command.expected) this.#map.set(command.key, command.value);
    return previous;
  }

  /** The value of `key`, or `null`. */
  get(key: string): string | null {
    return this.#map.get(key) ?? null;
  }

  /** The whole map as JSON bytes. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.#map]));
  }

  /** Replaces the map with a snapshot's (empty bytes: an empty map). */
  restore(snapshot: Uint8Array): void {
    this.#map = new Map(snapshot.byteLength ? JSON.parse(decoder.decode(snapshot)) as [string, string][] : []);
  }
}
