/**
 * Typed capability tokens: a capability's name (as plugins write it in
 * `provides` and `requires`) together with the type of what provides it, so
 * `context.require(token)` returns that type without a cast at the call site.
 * A token made for a plugin kind is also checked when it is handed over: the
 * provider must be a plugin of that kind, whose instance the loader already
 * checked against the kind's contract.
 *
 * @module
 */
import type { PluginKind } from "../contracts/plugin_kind.ts";
import type { Transport } from "../contracts/transport.ts";
import type { PluginInstance } from "../contracts/plugin_instance.ts";

/**
 * A capability's name and the type of the instance that provides it. Make
 * one with {@linkcode capability}.
 */
export interface Capability<T> {
  /** The name, as in `provides` and `requires`, e.g. `"transport"`. */
  readonly name: string;
  /** When set, the provider must be a plugin of this kind (checked by `require`). */
  readonly kind?: PluginKind;
  /**
   * Carries `T` for the type checker only; never set. (A token is data, so
   * it can be shared by a plugin and whoever provides for it.)
   */
  readonly instanceType?: () => T;
}

/**
 * A token for a capability provided by plugins of `kind`: what it yields is
 * that kind's instance (a `Transport` for `"transport"`, …), and a provider
 * of another kind is refused with `PLUGIN_INVALID`.
 *
 * @example
 * ```ts
 * import { capability } from "./capability.ts";
 * const PROBES = capability("probe:rtt", "probe");
 * // context.require(PROBES) returns a Probe
 * ```
 */
export function capability<K extends PluginKind>(name: string, kind: K): Capability<PluginInstance<K>>;
/**
 * A token for a capability whose provider is described by `T` (an
 * extension's own interface, say): the one place its type is asserted.
 */
export function capability<T>(name: string): Capability<T>;
export function capability(name: string, kind?: PluginKind): Capability<unknown> {
  return Object.freeze(kind === undefined ? { name } : { name, kind });
}

/**
 * `"transport"`, which every transport plugin provides (besides its own
 * `"transport:<name>"`): what consensus engines and the probes require.
 */
export const TRANSPORT_CAPABILITY: Capability<Transport> = capability("transport", "transport");
