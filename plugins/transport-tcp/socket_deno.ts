/**
 * TCP sockets on Deno: `Deno.listen` and `Deno.connect` (`listenTls` and
 * `connectTls` with TLS), with TCP_NODELAY and keepalive on plain connections.
 * The accept loop outlives every failed accept (Deno's `accept()` throws for
 * a connection reset while it waited, and for `EMFILE`): each goes to
 * `acceptFailed`, and only closing the listener ends the loop.
 *
 * @module
 */
import { toError } from "../../core/util/errors.ts";
import type { AcceptHandlers, ByteSocket, SocketFactory } from "./byte_socket.ts";

/** A connection's first read buffer: small, so a connection that carries little holds little. */
const INITIAL_READ_BUFFER_BYTES = 64 * 1024;
/** The read buffer doubles each time a read fills it, up to this (bulk transfers read in large chunks). */
const MAX_READ_BUFFER_BYTES = 2 * 1024 * 1024;

function wrap(conn: Deno.TcpConn | Deno.TlsConn): ByteSocket {
  // TLS connections sit on TCP too, but Deno does not expose the socket options on them.
  if ("setNoDelay" in conn) {
    conn.setNoDelay(true);
    conn.setKeepAlive(true);
  }
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  let paused = false;
  let resume: (() => void) | undefined;
  let closed = false;
  const shut = () => {
    if (closed) return;
    closed = true;
    resume?.();
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const socket: ByteSocket = {
    localAddress: `${local.hostname}:${local.port}`,
    remoteAddress: `${remote.hostname}:${remote.port}`,
    async write(bytes) {
      for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
    },
    pauseReading() {
      paused = true;
    },
    resumeReading() {
      paused = false;
      resume?.();
      resume = undefined;
    },
    close() {
      shut();
      return Promise.resolve();
    },
    destroy: shut,
    onData: () => {},
    onEnd: () => {},
    start() {
      (async () => {
        let buffer = new Uint8Array(INITIAL_READ_BUFFER_BYTES);
        try {
          for (;;) {
            while (paused && !closed) await new Promise<void>((resolve) => resume = resolve);
            if (closed) break;
            const count = await conn.read(buffer);
            if (count === null) break;
            socket.onData(buffer.slice(0, count));
            if (count === buffer.length && buffer.length < MAX_READ_BUFFER_BYTES) {
              buffer = new Uint8Array(buffer.length * 2);
            }
          }
          socket.onEnd();
        } catch (error) {
          socket.onEnd(closed ? undefined : error as Error);
        }
      })();
    },
  };
  return socket;
}

/**
 * Accepts until `isClosed()`: an accept that fails (a connection reset before
 * it was accepted makes Deno's `accept()` throw `NotConnected`; descriptors
 * run out with `EMFILE`) goes to `handlers.acceptFailed`, and the loop waits
 * for it and accepts again.
 */
async function acceptLoop(
  listener: Deno.Listener<Deno.TcpConn> | Deno.TlsListener,
  handlers: AcceptHandlers,
  isClosed: () => boolean,
): Promise<void> {
  while (!isClosed()) {
    let conn: Deno.TcpConn | Deno.TlsConn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (isClosed()) return;
      await handlers.acceptFailed(toError(error));
      continue;
    }
    let socket: ByteSocket;
    try {
      socket = wrap(conn);
    } catch (error) {
      // The peer went away between the accept and the socket options.
      try {
        conn.close();
      } catch { /* already closed */ }
      await handlers.acceptFailed(toError(error));
      continue;
    }
    handlers.accepted(socket);
  }
}

/** Deno's TCP sockets. */
export const denoSockets: SocketFactory = {
  listen(hostname, port, handlers, tls) {
    const listener = tls?.cert && tls.key
      ? Deno.listenTls({ hostname, port, transport: "tcp", cert: tls.cert, key: tls.key })
      : Deno.listen({ hostname, port, transport: "tcp" });
    const address = listener.addr as Deno.NetAddr;
    let closed = false;
    const done = acceptLoop(listener, handlers, () => closed);
    return Promise.resolve({
      address: `${address.hostname}:${address.port}`,
      close: async () => {
        closed = true;
        try {
          listener.close();
        } catch { /* already closed */ }
        await done;
      },
    });
  },
  async connect(hostname, port, tls) {
    if (!tls) return wrap(await Deno.connect({ hostname, port, transport: "tcp" }));
    const conn = await Deno.connectTls({
      hostname: tls.serverName ?? hostname,
      port,
      ...(tls.ca ? { caCerts: [tls.ca] } : {}),
    });
    await conn.handshake();
    return wrap(conn);
  },
};
