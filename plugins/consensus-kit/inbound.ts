/**
 * The connections peers dial to an engine: each is read frame by frame and
 * handed to the engine's `receive`, which opens, checks and queues the
 * frame's messages and says whether the connection may stay (a forged or
 * malformed frame closes it). Every open connection is tracked, so closing
 * the engine closes them all. Raft and PBFT read their peers this way.
 *
 * @module
 */
import type { TransportConnection, TransportListener } from "../../core/contracts/transport.ts";
import type { Logger } from "../../core/util/logger.ts";

/** What {@linkcode InboundConnections} needs from its engine. */
export interface InboundOptions {
  /** The engine's name, for log lines (`"raft"`, `"pbft"`). */
  engine: string;
  /** Takes one frame; false closes the connection it came on. */
  receive(frame: Uint8Array, connection: TransportConnection): Promise<boolean>;
  /** True once the engine is closed: connections accepted after that are closed at once. */
  closed(): boolean;
  /** Where the listener's end and broken connections are logged. */
  logger: Logger;
}

/** Reads the connections a listener accepts until the engine closes them. */
export class InboundConnections {
  readonly #open = new Set<TransportConnection>();
  readonly #options: InboundOptions;

  /** Reads for the engine described by `options`. */
  constructor(options: InboundOptions) {
    this.#options = options;
  }

  /** Connections open now. */
  get size(): number {
    return this.#open.size;
  }

  /** Reads every connection `listener` accepts, until it ends; resolves then (it never rejects). */
  async accept(listener: TransportListener): Promise<void> {
    try {
      for await (const connection of listener.connections()) void this.#read(connection);
    } catch (error) {
      if (!this.#options.closed()) {
        this.#options.logger.warn(`${this.#options.engine} listener ended`, { error: String(error) });
      }
    }
  }

  /** Closes every open connection. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((connection) => connection.close().catch(() => {})));
  }

  async #read(connection: TransportConnection): Promise<void> {
    if (this.#options.closed()) return void connection.close().catch(() => {});
    this.#open.add(connection);
    connection.closed.finally(() => this.#open.delete(connection));
    try {
      for await (const frame of connection.frames()) {
        if (!await this.#options.receive(frame, connection)) {
          await connection.close().catch(() => {});
          return;
        }
      }
    } catch (error) {
      this.#options.logger.debug(`${this.#options.engine} connection closed with an error`, { error: String(error) });
    }
  }
}
