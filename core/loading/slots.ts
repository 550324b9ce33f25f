/**
 * Turns the manifest's slot table and the loaded plugins into components,
 * probes, and the modes that cannot be served.
 *
 * @module
 */
import { type ComponentKey, componentKey, type Implementations } from "../contracts/component.ts";
import type { Compressor } from "../contracts/compressor.ts";
import type { ConsensusEngine } from "../contracts/consensus.ts";
import type { Transport } from "../contracts/transport.ts";
import type { LoadedPlugins } from "./loader.ts";
import { SLOT_KINDS } from "./manifest.ts";
import { type Mode, MODES } from "../contracts/mode.ts";
import type { Probe } from "../contracts/probe.ts";

/** The `transport` slot's component: `manager.getComponent(TRANSPORT)` is the transport serving now. */
export const TRANSPORT: ComponentKey<Transport> = componentKey("transport");
/** The `consensus` slot's component: the engine serving now; bind it with `create(stateMachine)`. */
export const CONSENSUS: ComponentKey<ConsensusEngine> = componentKey("consensus");
/** The `compression` slot's component: the compressor serving now. */
export const COMPRESSION: ComponentKey<Compressor> = componentKey("compression");

/** The slot components' keys, by slot name. */
const SLOT_COMPONENTS = { transport: TRANSPORT, consensus: CONSENSUS, compression: COMPRESSION } as const;

/**
 * Stands in for a slot's implementation in a mode whose plugin did not load.
 * The orchestrator never enters such a mode, so it is never served; if
 * looked at, it says why.
 */
export class UnavailableImplementation {
  /** Always true. */
  readonly unavailable = true;

  /** Records which slot, which mode, and why. */
  constructor(readonly slot: string, readonly mode: Mode, readonly reason: string) {}
}

/** What the slot table yields. */
export interface SlotAssignment {
  /** One component per filled slot, named after the slot (its key is {@linkcode TRANSPORT}, … by that name). */
  components: { name: string; implementations: Implementations }[];
  /** The probes that loaded. */
  probes: Probe[];
  /** Every mode that cannot be served, with the reasons. */
  unavailable: Partial<Record<Mode, string>>;
}

/**
 * Assigns loaded plugin instances to slots. A slot whose plugin failed, is
 * disabled, is of the wrong kind or does not serve the mode makes that mode
 * unavailable.
 */
export function assignSlots(loaded: LoadedPlugins): SlotAssignment {
  const records = new Map(loaded.records().map((record) => [record.id, record]));
  const reasons = new Map<Mode, string[]>();
  const unavailableBecause = (mode: Mode, reason: string) => {
    reasons.set(mode, [...(reasons.get(mode) ?? []), reason]);
  };
  const components: SlotAssignment["components"] = [];
  for (const slot of ["transport", "consensus", "compression"] as const) {
    const table = loaded.manifest.slots[slot];
    if (!table) continue;
    const implementations = {} as Record<Mode, unknown>;
    for (const mode of MODES) {
      const id = table[mode];
      const record = records.get(id);
      let reason: string | undefined;
      if (!record || record.state !== "loaded") {
        reason = `${slot} slot: plugin "${id}" is ${record?.state ?? "missing"}${
          record?.reason ? `: ${record.reason}` : ""
        }`;
      } else if (record.kind !== SLOT_KINDS[slot]) {
        reason = `${slot} slot: plugin "${id}" is a ${record.kind}, not a ${SLOT_KINDS[slot]}`;
      } else if (!record.modes?.includes(mode)) {
        reason = `${slot} slot: plugin "${id}" does not serve ${mode} (it serves ${record.modes?.join(", ")})`;
      }
      if (reason) {
        unavailableBecause(mode, reason);
        implementations[mode] = new UnavailableImplementation(slot, mode, reason);
      } else {
        implementations[mode] = loaded.instance(id);
      }
    }
    components.push({ name: SLOT_COMPONENTS[slot].name, implementations });
  }
  const probes: Probe[] = [];
  for (const id of loaded.manifest.slots.probes ?? []) {
    const record = records.get(id);
    if (record?.state === "loaded" && record.kind === "probe") probes.push(loaded.instance<Probe>(id)!);
  }
  const unavailable: Partial<Record<Mode, string>> = {};
  for (const [mode, list] of reasons) unavailable[mode] = list.join("; ");
  return { components, probes, unavailable };
}
