/**
 * The rsocket data path: librdmacm's socket-like API behind the same
 * `SocketFactory` the TCP transport uses, so framing, flow control and the
 * transport contract come from the shared stream connection.
 *
 * It never blocks the event loop: sockets are made non-blocking (`rfcntl`),
 * and every `raccept`, `rsend` and `rrecv` follows an `rpoll` with a zero
 * timeout that said the call will not wait; between polls it yields
 * (`setImmediate` while data flows, short timers when idle). On Deno the
 * calls marked blocking in the symbol table also run on the FFI thread pool.
 *
 * Addresses are IPv4 (`a.b.c.d:port`, `localhost` meaning 127.0.0.1), as
 * rsockets resolve them to RDMA devices through IP (IPoIB or RoCE).
 *
 * Tested here against an in-process model of the rsocket API (the transport
 * suite runs over it); against real rsockets only where an RDMA device
 * exists (the test says why it skips).
 *
 * @module
 */
import { SwitchyardError } from "../../core/util/errors.ts";
import { RDMA_ERRORS } from "./errors.ts";
import { setImmediate } from "node:timers";
import type { ByteListener, ByteSocket, SocketFactory } from "../transport-tcp/byte_socket.ts";
import type { RsocketApi } from "./symbols.ts";

const AF_INET = 2;
const SOCK_STREAM = 1;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;
/** `poll` event bits. */
export const POLLIN = 0x1;
/** Writable. */
export const POLLOUT = 0x4;
/** Error. */
export const POLLERR = 0x8;
/** Hang-up. */
export const POLLHUP = 0x10;
const READ_CHUNK_BYTES = 64 * 1024;
const IDLE_POLL_MS = 1;
const CONNECT_TIMEOUT_MS = 10_000;

const noDevice = () => RDMA_ERRORS.error("RDMA_UNAVAILABLE", "rsocket() failed: no usable RDMA device for AF_INET?");
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const idle = () => new Promise<void>((resolve) => setTimeout(resolve, IDLE_POLL_MS));

/** A `struct sockaddr_in` for `host:port`. */
export function sockaddrIn(host: string, port: number): Uint8Array {
  const ip = host === "localhost" ? "127.0.0.1" : host;
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) {
    throw new SwitchyardError("INVALID_ARGUMENT", `rsocket addresses are IPv4 (a.b.c.d), got "${host}"`);
  }
  const address = new Uint8Array(16);
  const view = new DataView(address.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  address.set(parts, 4);
  return address;
}

/** `host:port` of a `struct sockaddr_in`. */
export function formatSockaddr(address: Uint8Array): string {
  const port = new DataView(address.buffer, address.byteOffset).getUint16(2, false);
  return `${address[4]}.${address[5]}.${address[6]}.${address[7]}:${port}`;
}

/** Polls one descriptor without waiting; returns its `revents`. */
async function pollOnce(api: RsocketApi, fd: number, events: number): Promise<number> {
  const pollfd = new Uint8Array(8);
  const view = new DataView(pollfd.buffer);
  view.setInt32(0, fd, true);
  view.setInt16(4, events, true);
  const ready = Number(await api.library.rpoll(api.pointerOf(pollfd), 1, 0));
  if (ready < 0) return POLLERR;
  return ready === 0 ? 0 : view.getInt16(6, true);
}

/** Makes a descriptor non-blocking; returns whether it worked. */
function nonBlocking(api: RsocketApi, fd: number): boolean {
  return Number(api.library.rfcntl(fd, F_SETFL, O_NONBLOCK)) >= 0;
}

/** One connected rsocket as a byte stream. */
class RsocketStream implements ByteSocket {
  readonly localAddress: string;
  readonly remoteAddress: string;
  onData: (chunk: Uint8Array) => void = () => {};
  onEnd: (error?: Error) => void = () => {};
  readonly #api: RsocketApi;
  readonly #fd: number;
  #paused = false;
  #closed = false;
  #ended = false;
  #writing: Promise<void> = Promise.resolve();
  #wakeReader: (() => void) | undefined;

  constructor(api: RsocketApi, fd: number, localAddress: string, remoteAddress: string) {
    this.#api = api;
    this.#fd = fd;
    this.localAddress = localAddress;
    this.remoteAddress = remoteAddress;
  }

  start(): void {
    this.#readLoop();
  }

  write(bytes: Uint8Array): Promise<void> {
    const writing = this.#writing.then(() => this.#writeAll(bytes));
    this.#writing = writing.catch(() => {});
    return writing;
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#closed) throw new SwitchyardError("TRANSPORT_CLOSED", "rsocket closed");
      const revents = await pollOnce(this.#api, this.#fd, POLLOUT);
      if (revents & (POLLERR | POLLHUP)) {
        throw this.#end(new SwitchyardError("TRANSPORT_CLOSED", "rsocket: the connection failed while writing"));
      }
      if (!(revents & POLLOUT)) {
        await idle();
        continue;
      }
      const rest = bytes.subarray(offset);
      const sent = Number(await this.#api.library.rsend(this.#fd, this.#api.pointerOf(rest), rest.length, 0));
      if (sent < 0) {
        await nextTurn(); // EAGAIN between the poll and the send; anything worse shows in the next poll
        continue;
      }
      offset += sent;
    }
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    while (!this.#closed && !this.#ended) {
      if (this.#paused) {
        await new Promise<void>((resolve) => this.#wakeReader = resolve);
        continue;
      }
      const revents = await pollOnce(this.#api, this.#fd, POLLIN);
      if (revents & POLLIN || revents & POLLHUP) {
        const received = Number(await this.#api.library.rrecv(this.#fd, this.#api.pointerOf(buffer), buffer.length, 0));
        if (received > 0) {
          this.onData(buffer.slice(0, received));
          await nextTurn();
          continue;
        }
        if (received === 0) return void this.#end();
        if (revents & POLLHUP) return void this.#end();
        await nextTurn();
        continue;
      }
      if (revents & POLLERR) {
        return void this.#end(new SwitchyardError("TRANSPORT_CLOSED", "rsocket: the connection failed"));
      }
      await idle();
    }
  }

  #end(error?: Error): Error | undefined {
    if (!this.#ended) {
      this.#ended = true;
      this.onEnd(error);
    }
    return error;
  }

  pauseReading(): void {
    this.#paused = true;
  }

  resumeReading(): void {
    this.#paused = false;
    const wake = this.#wakeReader;
    this.#wakeReader = undefined;
    wake?.();
  }

  async close(): Promise<void> {
    await this.#writing;
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.resumeReading();
    this.#api.library.rclose(this.#fd);
  }
}

/**
 * Sockets over rsockets (no TLS: RDMA links are datacenter links).
 *
 * @example
 * ```ts ignore
 * const rdma = await detectRdma();
 * if (rdma.available) {
 *   const sockets = rsocketSockets(rdma);
 *   const transport = tcpTransport(sockets, options, clock); // same framing, over RDMA
 * }
 * ```
 */
export function rsocketSockets(api: RsocketApi): SocketFactory {
  const localOf = (fd: number, fallback: string) => {
    const address = new Uint8Array(16);
    const length = new Uint32Array([16]);
    const ok = Number(
      api.library.rgetsockname(fd, api.pointerOf(address), api.pointerOf(new Uint8Array(length.buffer))),
    );
    return ok === 0 ? formatSockaddr(address) : fallback;
  };
  return {
    listen(hostname, port, handlers, tls) {
      if (tls?.cert) return Promise.reject(new SwitchyardError("INVALID_ARGUMENT", "rsocket listeners do not do TLS"));
      const fd = Number(api.library.rsocket(AF_INET, SOCK_STREAM, 0));
      if (fd < 0) return Promise.reject(noDevice());
      const address = sockaddrIn(hostname, port);
      if (Number(api.library.rbind(fd, api.pointerOf(address), address.length)) < 0) {
        api.library.rclose(fd);
        return Promise.reject(
          RDMA_ERRORS.error("RDMA_LISTEN_FAILED", `rbind(${hostname}:${port}) failed (address in use?)`),
        );
      }
      if (Number(api.library.rlisten(fd, 128)) < 0 || !nonBlocking(api, fd)) {
        api.library.rclose(fd);
        return Promise.reject(RDMA_ERRORS.error("RDMA_LISTEN_FAILED", `rlisten(${hostname}:${port}) failed`));
      }
      const local = localOf(fd, `${hostname}:${port}`);
      let open = true;
      (async () => {
        while (open) {
          const revents = await pollOnce(api, fd, POLLIN);
          if (!(revents & POLLIN)) {
            await idle();
            continue;
          }
          const client = Number(await api.library.raccept(fd, null, null));
          if (client < 0 || !open) continue;
          nonBlocking(api, client);
          handlers.accepted(new RsocketStream(api, client, local, "rdma-peer"));
        }
      })();
      const listener: ByteListener = {
        address: local,
        close: () => {
          open = false;
          api.library.rclose(fd);
          return Promise.resolve();
        },
      };
      return Promise.resolve(listener);
    },
    async connect(hostname, port, tls) {
      if (tls) throw new SwitchyardError("INVALID_ARGUMENT", "rsocket connections do not do TLS");
      const fd = Number(api.library.rsocket(AF_INET, SOCK_STREAM, 0));
      if (fd < 0) throw noDevice();
      const address = sockaddrIn(hostname, port);
      nonBlocking(api, fd);
      // Non-blocking connect: -1 (EINPROGRESS) is expected; the poll says how it went.
      await api.library.rconnect(fd, api.pointerOf(address), address.length);
      const deadline = Date.now() + CONNECT_TIMEOUT_MS;
      for (;;) {
        const revents = await pollOnce(api, fd, POLLOUT);
        if (revents & (POLLERR | POLLHUP)) {
          api.library.rclose(fd);
          throw new SwitchyardError("TRANSPORT_UNREACHABLE", `rconnect(${hostname}:${port}) refused`);
        }
        if (revents & POLLOUT) break;
        if (Date.now() > deadline) {
          api.library.rclose(fd);
          throw new SwitchyardError("TRANSPORT_TIMEOUT", `rconnect(${hostname}:${port}) timed out`);
        }
        await idle();
      }
      return new RsocketStream(api, fd, localOf(fd, "rdma-local"), `${hostname}:${port}`);
    },
  };
}
