/**
 * The little a stream connection needs from a runtime's socket; one file per
 * runtime implements it (`socket_deno.ts`, `socket_bun.ts`).
 *
 * @module
 */

/** A connected byte stream. */
export interface ByteSocket {
  /** This end, `host:port`. */
  readonly localAddress: string;
  /** The peer, `host:port`. */
  readonly remoteAddress: string;
  /** Writes all of `bytes`; resolves once the runtime took them (waiting for the socket to drain if needed). */
  write(bytes: Uint8Array): Promise<void>;
  /** Stops reading from the socket, so the kernel pushes back on the peer. */
  pauseReading(): void;
  /** Reads again. */
  resumeReading(): void;
  /** Flushes and closes. */
  close(): Promise<void>;
  /** Closes at once. */
  destroy(): void;
  /** Starts reading; call once `onData` and `onEnd` are set. */
  start(): void;
  /** Called with each chunk read. */
  onData: (chunk: Uint8Array) => void;
  /** Called once when the peer closed or the socket failed. */
  onEnd: (error?: Error) => void;
}

/** A listening socket. */
export interface ByteListener {
  /** `host:port`, with the real port. */
  readonly address: string;
  /** Stops listening. */
  close(): Promise<void>;
}

/** TLS material, PEM text. */
export interface TlsSettings {
  /** The certificate chain a listener presents. */
  cert?: string;
  /** Its private key. */
  key?: string;
  /** Certificates a dialer trusts (the system's when absent). */
  ca?: string;
  /** The name a dialer checks the certificate against (the dialed host when absent). */
  serverName?: string;
}

/** What a listener tells its owner. */
export interface AcceptHandlers {
  /** Receives each new socket. */
  accepted(socket: ByteSocket): void;
  /**
   * An accept failed: a connection reset before it was accepted, descriptors
   * exhausted (`EMFILE`), and so on. The listener keeps listening and accepts
   * again once the returned promise resolves (so the owner decides the backoff).
   */
  acceptFailed(error: Error): Promise<void>;
}

/** How sockets are made on this runtime. */
export interface SocketFactory {
  /**
   * Listens (with TLS when `tls` has a cert and key). `handlers.accepted`
   * receives each new socket; a failed accept goes to `handlers.acceptFailed`
   * and never ends the listener: only `close()` does.
   */
  listen(
    hostname: string,
    port: number,
    handlers: AcceptHandlers,
    tls?: TlsSettings,
  ): Promise<ByteListener>;
  /** Connects (with TLS when `tls` is given); rejects with the runtime's error when refused. */
  connect(hostname: string, port: number, tls?: TlsSettings): Promise<ByteSocket>;
}
