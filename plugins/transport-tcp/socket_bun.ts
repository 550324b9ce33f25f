/**
 * TCP sockets on Bun: `Bun.listen` and `Bun.connect` (native sockets, with
 * their `tls` option for TLS), with TCP_NODELAY and keepalive on every
 * connection; writes wait for `drain` when the socket takes only part of them.
 * Bun retries a failed `accept()` inside its socket layer (so `acceptFailed`
 * is only told of a socket that failed as it was wrapped), and opens a
 * connection reset before the accept with no remote address.
 *
 * @module
 */
import { SwitchyardError, toError } from "../../core/util/errors.ts";
import { TCP_ERRORS } from "./errors.ts";
import type { AcceptHandlers, ByteSocket, SocketFactory } from "./byte_socket.ts";

interface BunSocket {
  data: State;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(enabled: boolean): void;
  setKeepAlive(enabled: boolean, delayMs?: number): void;
}
interface Handlers {
  open(socket: BunSocket): void;
  data(socket: BunSocket, chunk: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
  connectError?(socket: BunSocket, error: Error): void;
  handshake?(socket: BunSocket, success: boolean, error: Error | null): void;
}
interface BunTls {
  cert?: string;
  key?: string;
  ca?: string;
  serverName?: string;
}
interface BunApi {
  listen(options: { hostname: string; port: number; socket: Handlers; tls?: BunTls }): {
    hostname: string;
    port: number;
    stop(closeActive?: boolean): void;
  };
  connect(options: { hostname: string; port: number; socket: Handlers; tls?: BunTls | boolean }): Promise<BunSocket>;
}

interface State {
  wrapper: ByteSocket;
  started: boolean;
  early: Uint8Array[];
  drained: (() => void)[];
  ended: boolean;
  /** Resolves once a TLS handshake is done (at once for plain TCP); writes wait for it. */
  ready: Promise<void>;
  handshaken: () => void;
}

function wrap(raw: BunSocket, tls: boolean): ByteSocket {
  raw.setNoDelay(true);
  raw.setKeepAlive(true, 30_000);
  let handshaken = () => {};
  const ready = tls ? new Promise<void>((resolve) => handshaken = resolve) : Promise.resolve();
  const state: State = {
    wrapper: undefined as unknown as ByteSocket,
    started: false,
    early: [],
    drained: [],
    ended: false,
    ready,
    handshaken: () => handshaken(),
  };
  raw.data = state;
  const wrapper: ByteSocket = {
    localAddress: `${raw.localAddress ?? "127.0.0.1"}:${raw.localPort ?? 0}`,
    // A connection reset before Bun opened it has no remote address any more.
    remoteAddress: `${raw.remoteAddress ?? "unknown"}:${raw.remotePort ?? 0}`,
    async write(bytes) {
      await state.ready;
      for (let offset = 0; offset < bytes.length;) {
        if (state.ended) throw new SwitchyardError("TRANSPORT_CLOSED", "socket closed");
        const written = raw.write(bytes.subarray(offset));
        if (written < 0) throw new SwitchyardError("TRANSPORT_CLOSED", "socket closed");
        offset += written;
        if (offset < bytes.length) await new Promise<void>((resolve) => state.drained.push(resolve));
      }
    },
    pauseReading: () => raw.pause(),
    resumeReading: () => raw.resume(),
    close() {
      raw.end();
      return Promise.resolve();
    },
    destroy: () => raw.terminate(),
    onData: () => {},
    onEnd: () => {},
    start() {
      state.started = true;
      for (const chunk of state.early.splice(0)) wrapper.onData(chunk);
      if (state.ended) wrapper.onEnd();
    },
  };
  state.wrapper = wrapper;
  return wrapper;
}

function handlers(onOpen: (socket: BunSocket) => void): Handlers {
  const end = (socket: BunSocket, error?: Error) => {
    const state = socket.data;
    if (!state || state.ended) return;
    state.ended = true;
    state.handshaken();
    for (const wake of state.drained.splice(0)) wake();
    if (state.started) state.wrapper.onEnd(error);
  };
  return {
    open: onOpen,
    data(socket, chunk) {
      const state = socket.data;
      const copy = new Uint8Array(chunk);
      if (state.started) state.wrapper.onData(copy);
      else state.early.push(copy);
    },
    drain(socket) {
      for (const wake of socket.data?.drained.splice(0) ?? []) wake();
    },
    close: (socket, error) => end(socket, error),
    error: (socket, error) => end(socket, error),
    handshake(socket, success, error) {
      if (success) socket.data?.handshaken();
      else {
        end(socket, error ?? TCP_ERRORS.error("TLS_HANDSHAKE_FAILED", "TLS handshake failed"));
        socket.terminate();
      }
    },
  };
}

const bun = () => (globalThis as unknown as { Bun: BunApi }).Bun;

/** Bun's native TCP sockets. */
export const bunSockets: SocketFactory = {
  listen(hostname, port, accept: AcceptHandlers, tls) {
    // Bun's socket layer retries a failed accept() itself (EMFILE included) and never reports it to JavaScript.
    const server = bun().listen({
      hostname,
      port,
      socket: handlers((socket) => {
        let wrapped: ByteSocket;
        try {
          wrapped = wrap(socket, Boolean(tls?.cert && tls.key));
        } catch (error) {
          // The peer went away before the socket options could be set.
          socket.terminate();
          void accept.acceptFailed(toError(error));
          return;
        }
        accept.accepted(wrapped);
      }),
      ...(tls?.cert && tls.key ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    });
    return Promise.resolve({
      address: `${server.hostname}:${server.port}`,
      close: () => {
        server.stop(false);
        return Promise.resolve();
      },
    });
  },
  async connect(hostname, port, tls) {
    let opened: ByteSocket | undefined;
    const raw = await bun().connect({
      hostname,
      port,
      ...(tls ? { tls: { ...(tls.ca ? { ca: tls.ca } : {}), serverName: tls.serverName ?? hostname } } : {}),
      socket: handlers((socket) => {
        opened = wrap(socket, Boolean(tls));
      }),
    });
    const socket = opened ?? wrap(raw, Boolean(tls));
    await raw.data.ready;
    if (raw.data.ended) throw TCP_ERRORS.error("TLS_HANDSHAKE_FAILED", "TLS handshake failed");
    return socket;
  },
};
