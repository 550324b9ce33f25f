/**
 * An in-process network: listeners by address, and a link model per pair of
 * addresses (or a default), all on one clock and seed, so a whole cluster
 * runs deterministically under a `ManualClock`.
 *
 * @module
 */
import { AsyncQueue } from "../transport-kit/async_queue.ts";
import type { Clock } from "../../core/util/clock.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Transport, TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import { connectEndpoints, type PipeLimits } from "./connection.ts";
import { type LinkModel, LinkSchedule, PERFECT_LINK } from "./link.ts";

/** Options of a {@linkcode MemoryNetwork}. */
export interface MemoryNetworkOptions {
  /** Time for delays; every delivery is a timer on it. */
  clock: Clock;
  /** Seed of jitter and loss. */
  seed?: number;
  /** The link between addresses without their own. */
  defaultLink?: Partial<LinkModel>;
}

const pairKey = (a: string, b: string) => JSON.stringify([a, b]);

/** `work()`'s result as a promise, its exception as a rejection (never a synchronous throw). */
function settled<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The network.
 *
 * @example
 * ```ts
 * import { ManualClock } from "../../core/util/clock.ts";
 * import { MemoryNetwork } from "./network.ts";
 * const network = new MemoryNetwork({ clock: new ManualClock(), seed: 1 });
 * network.setLink("a", "b", { delayMs: 20, bandwidthMbps: 100 }); // both directions
 * const transport = network.transport("a");
 * ```
 */
export class MemoryNetwork {
  readonly #clock: Clock;
  readonly #listeners = new Map<string, AsyncQueue<TransportConnection>>();
  readonly #links = new Map<string, LinkModel>();
  #defaultLink: LinkModel;
  #seed: number;
  #dials = 0;

  /** Creates an empty network. */
  constructor(options: MemoryNetworkOptions) {
    this.#clock = options.clock;
    this.#seed = options.seed ?? 1;
    this.#defaultLink = { ...PERFECT_LINK, ...options.defaultLink };
  }

  /** Sets the link between `a` and `b`, both directions (or only a → b with `oneWay`). */
  setLink(a: string, b: string, model: Partial<LinkModel>, oneWay = false): void {
    const full = { ...PERFECT_LINK, ...model };
    this.#links.set(pairKey(a, b), full);
    if (!oneWay) this.#links.set(pairKey(b, a), full);
  }

  /** Sets the link used between addresses that have none of their own. */
  setDefaultLink(model: Partial<LinkModel>): void {
    this.#defaultLink = { ...PERFECT_LINK, ...model };
  }

  /** The link model from `a` to `b`. */
  link(a: string, b: string): LinkModel {
    return { ...(this.#links.get(pairKey(a, b)) ?? this.#defaultLink) };
  }

  /** A transport whose connections originate from `localAddress`. */
  transport(localAddress: string, limits: Partial<PipeLimits> = {}): Transport {
    const full: PipeLimits = { maxFrameBytes: 16 * 1024 * 1024, highWaterBytes: 4 * 1024 * 1024, ...limits };
    return {
      name: "memory",
      maxFrameBytes: full.maxFrameBytes,
      listen: (address) => settled(() => this.#listen(address)),
      dial: (address) => settled(() => this.#dial(localAddress, address, full)),
    };
  }

  #listen(address: string): TransportListener {
    if (this.#listeners.has(address)) {
      throw new SwitchyardError("INVALID_ARGUMENT", `memory transport: ${address} is already listening`);
    }
    const queue = new AsyncQueue<TransportConnection>();
    this.#listeners.set(address, queue);
    return {
      address,
      connections: () => queue,
      close: () => {
        this.#listeners.delete(address);
        queue.end();
        return Promise.resolve();
      },
    };
  }

  #dial(from: string, to: string, limits: PipeLimits): TransportConnection {
    const listener = this.#listeners.get(to);
    if (!listener) throw new SwitchyardError("TRANSPORT_UNREACHABLE", `memory transport: nothing listens at ${to}`);
    const id = ++this.#dials;
    const local = `${from}#${id}`;
    const [dialer, accepted] = connectEndpoints(
      this.#clock,
      { address: local, link: new LinkSchedule(() => this.link(from, to), this.#seed * 7_919 + id * 2) },
      { address: to, link: new LinkSchedule(() => this.link(to, from), this.#seed * 7_919 + id * 2 + 1) },
      limits,
    );
    listener.push(accepted);
    return dialer;
  }
}
