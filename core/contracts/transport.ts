/**
 * The transport contract: listen and dial by address, send frames (bytes)
 * on a connection with backpressure, receive them in order, drain and close.
 * Every transport plugin meets it and passes `testing/transport.ts`.
 *
 * @module
 */

/** Per-connection counters. */
export interface ConnectionStats {
  /** Payload bytes sent (frames, not their length prefixes). */
  bytesSent: number;
  /** Payload bytes received. */
  bytesReceived: number;
  /** Frames sent. */
  framesSent: number;
  /** Frames received. */
  framesReceived: number;
  /** Bytes accepted by `send` but not yet taken by the peer's reader. */
  bufferedBytes: number;
}

/** Counters of a connection that has carried nothing yet. */
export function emptyConnectionStats(): ConnectionStats {
  return { bytesSent: 0, bytesReceived: 0, framesSent: 0, framesReceived: 0, bufferedBytes: 0 };
}

/**
 * One bidirectional connection carrying frames.
 *
 * - `send` resolves once the frame is accepted; it waits while the peer is
 *   slow, so memory stays bounded by the transport's buffer.
 * - `frames()` yields every frame exactly once and in order, ends when the
 *   peer closes, and throws a `SwitchyardError` (`FRAME_TOO_LARGE`,
 *   `FRAME_INVALID`) when the peer sends a malformed or oversized frame, which
 *   also closes the connection. A transport that guards against its peers may
 *   also close one that stalls (`TRANSPORT_TIMEOUT`) or holds more than its
 *   share of memory (`TRANSPORT_OVERLOADED`).
 */
export interface TransportConnection {
  /** This end's address. */
  readonly localAddress: string;
  /** The peer's address. */
  readonly remoteAddress: string;
  /** Sends one frame; rejects with `TRANSPORT_CLOSED` after close, `FRAME_TOO_LARGE` past the limit. */
  send(frame: Uint8Array): Promise<void>;
  /** The received frames, for one consumer. */
  frames(): AsyncIterable<Uint8Array>;
  /** Resolves when every frame sent so far has reached the peer. */
  drain(): Promise<void>;
  /** Closes gracefully: the peer still receives what was sent before. */
  close(): Promise<void>;
  /** Resolves once the connection is closed, by either side or by an error. */
  readonly closed: Promise<void>;
  /** Counters. */
  stats(): ConnectionStats;
}

/** A listening address. */
export interface TransportListener {
  /** The address peers dial. */
  readonly address: string;
  /** Incoming connections, until the listener closes. */
  connections(): AsyncIterable<TransportConnection>;
  /** Stops accepting; open connections stay open. */
  close(): Promise<void>;
}

/** A transport. */
export interface Transport {
  /** Its name in stats, e.g. `"tcp"`, `"memory"`. */
  readonly name: string;
  /** Largest frame accepted, in bytes. */
  readonly maxFrameBytes: number;
  /** Listens at `address` (the form depends on the transport). */
  listen(address: string): Promise<TransportListener>;
  /** Connects to `address`; rejects with `TRANSPORT_UNREACHABLE` when nothing listens there. */
  dial(address: string): Promise<TransportConnection>;
}
