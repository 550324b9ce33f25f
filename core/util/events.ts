/**
 * A small typed event emitter. Listener errors are reported to `onListenerError`
 * and never break the emitter or the other listeners.
 *
 * @module
 */

/** Removes the listener it was returned for. */
export type Unsubscribe = () => void;

/**
 * Emits events whose payload type is fixed per event name.
 *
 * @example
 * ```ts
 * import { TypedEmitter } from "./events.ts";
 * const events = new TypedEmitter<{ ping: { atMs: number } }>();
 * const off = events.on("ping", (event) => console.log(event.atMs));
 * events.emit("ping", { atMs: 1 });
 * off();
 * ```
 */
export class TypedEmitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  readonly #onListenerError: (error: unknown, event: keyof Events) => void;

  /** Creates an emitter; `onListenerError` receives what listeners throw. */
  constructor(onListenerError: (error: unknown, event: keyof Events) => void = () => {}) {
    this.#onListenerError = onListenerError;
  }

  /** Calls `listener` for every `event`; returns a function that stops it. */
  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): Unsubscribe {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    const stored = listener as (payload: never) => void;
    set.add(stored);
    return () => void set.delete(stored);
  }

  /** Delivers `payload` to every listener of `event`, synchronously, in subscription order. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (payload: Events[K]) => void)(payload);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }
}
