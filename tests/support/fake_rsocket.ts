/**
 * An in-process model of librdmacm's rsocket API (the calls in the symbol
 * table), so the rsocket data path can be tested where no RDMA device
 * exists. Pointers are the byte views themselves. Streams have a bounded
 * buffer, so sends are partial and polls report writability honestly.
 *
 * @module
 */
import type { RdmacmLibrary, RsocketApi } from "../../plugins/transport-rdma/symbols.ts";
import { formatSockaddr, POLLHUP, POLLIN, POLLOUT } from "../../plugins/transport-rdma/rsocket_sockets.ts";

interface Endpoint {
  kind: "new" | "listener" | "stream";
  address?: string;
  backlog: number[];
  peer?: number;
  inbox: Uint8Array[];
  inboxBytes: number;
  closed: boolean;
}

/** A model of rsockets with `bufferBytes` of buffering per direction. */
export function fakeRsocketApi(bufferBytes = 256 * 1024): RsocketApi & { open(): number } {
  const endpoints = new Map<number, Endpoint>();
  const listeners = new Map<string, number>();
  let nextFd = 100;
  let nextPort = 40_000;
  const make = (kind: Endpoint["kind"]): number => {
    const fd = nextFd++;
    endpoints.set(fd, { kind, backlog: [], inbox: [], inboxBytes: 0, closed: false });
    return fd;
  };
  const view = (pointer: unknown) => pointer as Uint8Array;
  const peerOf = (endpoint: Endpoint) => endpoint.peer === undefined ? undefined : endpoints.get(endpoint.peer);

  const library: Record<string, (...args: unknown[]) => unknown> = {
    rdma_get_devices: () => null,
    rdma_free_devices: () => {},
    rsocket: () => make("new"),
    rbind(fd, pointer) {
      const endpoint = endpoints.get(fd as number);
      const bytes = view(pointer);
      if (!endpoint) return -1;
      let address = formatSockaddr(bytes);
      if (address.endsWith(":0")) address = address.replace(/:0$/, `:${nextPort++}`);
      if (listeners.has(address)) return -1;
      endpoint.address = address;
      return 0;
    },
    rlisten(fd) {
      const endpoint = endpoints.get(fd as number);
      if (!endpoint?.address) return -1;
      endpoint.kind = "listener";
      listeners.set(endpoint.address, fd as number);
      return 0;
    },
    raccept(fd) {
      return endpoints.get(fd as number)?.backlog.shift() ?? -1;
    },
    rconnect(fd, pointer) {
      const endpoint = endpoints.get(fd as number)!;
      const listenerFd = listeners.get(formatSockaddr(view(pointer)));
      const listener = listenerFd === undefined ? undefined : endpoints.get(listenerFd);
      if (!listener || listener.closed) {
        endpoint.closed = true; // a refused connect polls as hung up
        return -1;
      }
      const server = make("stream");
      endpoint.kind = "stream";
      endpoint.peer = server;
      endpoints.get(server)!.peer = fd as number;
      listener.backlog.push(server);
      return 0;
    },
    rsend(fd, pointer, length) {
      const endpoint = endpoints.get(fd as number);
      const peer = endpoint && peerOf(endpoint);
      if (!endpoint || endpoint.closed || !peer || peer.closed) return -1;
      const room = bufferBytes - peer.inboxBytes;
      if (room <= 0) return -1;
      const count = Math.min(room, Number(length), 1 + Math.floor(Number(length) / 2)); // partial sends
      peer.inbox.push(view(pointer).slice(0, count));
      peer.inboxBytes += count;
      return count;
    },
    rrecv(fd, pointer, length) {
      const endpoint = endpoints.get(fd as number);
      if (!endpoint) return -1;
      if (endpoint.inbox.length === 0) return peerOf(endpoint)?.closed || endpoint.peer === undefined ? 0 : -1;
      const target = view(pointer);
      let copied = 0;
      while (endpoint.inbox.length > 0 && copied < Number(length)) {
        const chunk = endpoint.inbox[0];
        const take = Math.min(chunk.length, Number(length) - copied);
        target.set(chunk.subarray(0, take), copied);
        copied += take;
        if (take === chunk.length) endpoint.inbox.shift();
        else endpoint.inbox[0] = chunk.subarray(take);
      }
      endpoint.inboxBytes -= copied;
      return copied;
    },
    rpoll(pointer, count) {
      const fds = view(pointer);
      const data = new DataView(fds.buffer, fds.byteOffset, fds.byteLength);
      let ready = 0;
      for (let i = 0; i < Number(count); i++) {
        const endpoint = endpoints.get(data.getInt32(i * 8, true));
        const events = data.getInt16(i * 8 + 4, true);
        let revents = 0;
        if (!endpoint) revents = POLLHUP;
        else if (endpoint.kind === "listener") revents = endpoint.backlog.length > 0 ? POLLIN : 0;
        else {
          const peer = peerOf(endpoint);
          if (endpoint.inbox.length > 0) revents |= POLLIN;
          if (endpoint.closed || !peer || peer.closed) revents |= POLLHUP;
          else if (peer.inboxBytes < bufferBytes) revents |= POLLOUT;
          revents &= events | POLLHUP;
        }
        data.setInt16(i * 8 + 6, revents, true);
        if (revents) ready++;
      }
      return ready;
    },
    rclose(fd) {
      const endpoint = endpoints.get(fd as number);
      if (!endpoint) return -1;
      endpoint.closed = true;
      if (endpoint.kind === "listener" && endpoint.address) listeners.delete(endpoint.address);
      return 0;
    },
    rgetsockname(fd, pointer) {
      const endpoint = endpoints.get(fd as number);
      const address = endpoint?.address ?? "127.0.0.1:1";
      const [host, port] = address.split(":");
      const bytes = view(pointer);
      const data = new DataView(bytes.buffer, bytes.byteOffset);
      data.setUint16(0, 2, true);
      data.setUint16(2, Number(port), false);
      bytes.set(host.split(".").map(Number), 4);
      return 0;
    },
    rfcntl: () => 0,
  };
  return {
    library: library as unknown as RdmacmLibrary,
    pointerOf: (bytes) => bytes,
    open: () => [...endpoints.values()].filter((endpoint) => !endpoint.closed).length,
  };
}
