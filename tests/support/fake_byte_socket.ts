/**
 * A {@linkcode ByteSocket} driven by the test: `deliver` hands the connection
 * bytes as if the peer sent them, `end` ends the stream, and what the
 * connection did to the socket (paused, destroyed, wrote) is recorded.
 *
 * @module
 */
import type { ByteSocket } from "../../plugins/transport-tcp/byte_socket.ts";

/** A socket whose peer is the test. */
export class FakeByteSocket implements ByteSocket {
  /** This end. */
  readonly localAddress = "127.0.0.1:1";
  /** The pretended peer. */
  readonly remoteAddress = "127.0.0.1:2";
  /** Whether reading is paused now. */
  paused = false;
  /** How often reading was paused. */
  pauses = 0;
  /** Whether the connection destroyed or closed the socket. */
  destroyed = false;
  /** What the connection wrote. */
  readonly written: Uint8Array[] = [];
  /** Called with each chunk read. */
  onData: (chunk: Uint8Array) => void = () => {};
  /** Called once when the stream ends. */
  onEnd: (error?: Error) => void = () => {};

  /** Records the bytes. */
  write(bytes: Uint8Array): Promise<void> {
    this.written.push(bytes.slice());
    return Promise.resolve();
  }
  /** Records the pause. */
  pauseReading(): void {
    this.paused = true;
    this.pauses++;
  }
  /** Records the resume. */
  resumeReading(): void {
    this.paused = false;
  }
  /** Ends the stream as a graceful close would. */
  close(): Promise<void> {
    this.destroy();
    return Promise.resolve();
  }
  /** Marks the socket destroyed and ends the stream. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.onEnd();
  }
  /** Nothing to start: the test delivers. */
  start(): void {}
  /** Hands the connection `bytes` from the peer. */
  deliver(bytes: Uint8Array): void {
    this.onData(bytes);
  }
}
