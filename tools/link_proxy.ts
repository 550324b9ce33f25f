/**
 * A delaying TCP proxy: the link emulator for tests across processes, since
 * this kernel has no `netem`. Each direction of each connection goes through
 * the same link model as the memory transport (one-way delay, jitter,
 * bandwidth), and a slow side pauses the other (bounded memory).
 *
 * Usage: `deno task link-proxy --listen 127.0.0.1:9000 --target 127.0.0.1:7000 --delay-ms 20 --bandwidth-mbps 100`
 *
 * @module
 */
import { setImmediate } from "node:timers";
import { type LinkModel, LinkSchedule } from "../plugins/transport-memory/link.ts";
import type { ByteSocket } from "../plugins/transport-tcp/byte_socket.ts";
import { acceptErrorHandler } from "../plugins/transport-tcp/accept_errors.ts";
import { parseAddress, runtimeSockets } from "../plugins/transport-tcp/mod.ts";
import { SystemClock } from "../core/util/clock.ts";
import { consoleLogger } from "../core/util/logger.ts";

/** A running proxy. */
export interface LinkProxy {
  /** The port it listens on. */
  readonly port: number;
  /** Changes the link for new and open connections. */
  setLink(model: Partial<LinkModel>): void;
  /** Stops it and closes every connection. */
  close(): Promise<void>;
}

const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** The last stretch before a chunk is due is polled, not slept. */
const POLL_WINDOW_MS = 3;

/** Forwards `from` to `to` through the link's schedule, in order. */
function pipeThroughLink(from: ByteSocket, to: ByteSocket, link: LinkSchedule): void {
  const now = () => performance.now();
  const queue: { dueMs: number; chunk: Uint8Array }[] = [];
  let queuedBytes = 0;
  let paused = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> = Promise.resolve();
  const send = (chunk: Uint8Array) => {
    writing = writing.then(() => to.write(chunk)).catch(() => from.destroy());
    queuedBytes -= chunk.length;
  };
  // Timers fire late (on Deno by 1.5 ms typically, up to several): sleep until shortly before a chunk is
  // due, then poll with setImmediate, which is precise to microseconds, for the last stretch.
  const pump = () => {
    timer = undefined;
    while (queue.length > 0 && queue[0].dueMs <= now()) send(queue.shift()!.chunk);
    if (paused && queuedBytes < HIGH_WATER_BYTES) {
      paused = false;
      from.resumeReading();
    }
    if (queue.length > 0) arm();
  };
  const arm = () => {
    const waitMs = queue[0].dueMs - now();
    timer = waitMs > POLL_WINDOW_MS
      ? setTimeout(() => setImmediate(pump), waitMs - POLL_WINDOW_MS)
      : setImmediate(pump) as unknown as ReturnType<typeof setTimeout>;
  };
  from.onData = (chunk) => {
    queuedBytes += chunk.length;
    const dueMs = link.arrival(now(), chunk.length);
    if (queue.length === 0 && dueMs <= now()) send(chunk); // a link without delay forwards at once
    else {
      queue.push({ dueMs, chunk });
      if (timer === undefined) arm();
    }
    if (!paused && queuedBytes >= HIGH_WATER_BYTES) {
      paused = true;
      from.pauseReading();
    }
  };
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    const finish = () => (queue.length === 0 ? writing.then(() => to.close()) : setTimeout(finish, 1));
    finish();
  };
  from.onEnd = end;
}

/**
 * Starts a proxy on `port` (0: any) forwarding to `target`, on the runtime's
 * native sockets.
 *
 * @example
 * ```ts ignore
 * const proxy = await startLinkProxy({ port: 0, target: { host: "127.0.0.1", port: 7000 }, link: { delayMs: 10 } });
 * // dial 127.0.0.1:${proxy.port}: every byte now takes 10 ms each way
 * ```
 */
export async function startLinkProxy(options: {
  host?: string;
  port: number;
  target: { host: string; port: number };
  link: Partial<LinkModel>;
  seed?: number;
}): Promise<LinkProxy> {
  const sockets = await runtimeSockets();
  let model: LinkModel = { delayMs: 0, jitterMs: 0, bandwidthMbps: 0, lossRatio: 0, ...options.link };
  const open = new Set<ByteSocket>();
  let connections = 0;
  const stop = new AbortController();
  const failures = acceptErrorHandler({
    clock: new SystemClock(),
    logger: consoleLogger("warn", "link-proxy"),
    address: `${options.host ?? "127.0.0.1"}:${options.port}`,
    counts: { acceptErrors: 0, acceptErrorsExhausted: 0 },
    signal: stop.signal,
  });
  const accepted = async (client: ByteSocket) => {
    failures.acceptSucceeded();
    let upstream: ByteSocket;
    try {
      upstream = await sockets.connect(options.target.host, options.target.port);
    } catch {
      client.destroy();
      return;
    }
    open.add(client);
    open.add(upstream);
    const seed = (options.seed ?? 1) * 7_919 + ++connections * 2;
    pipeThroughLink(client, upstream, new LinkSchedule(() => model, seed));
    pipeThroughLink(upstream, client, new LinkSchedule(() => model, seed + 1));
    client.start();
    upstream.start();
  };
  const listener = await sockets.listen(options.host ?? "127.0.0.1", options.port, {
    accepted: (client) => void accepted(client),
    acceptFailed: (error) => failures.acceptFailed(error),
  });
  return {
    port: parseAddress(listener.address).port,
    setLink: (next) => model = { ...model, ...next },
    close: async () => {
      stop.abort();
      for (const socket of open) socket.destroy();
      await listener.close();
    },
  };
}

if (import.meta.main) {
  const { parseArgs } = await import("node:util");
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      listen: { type: "string", default: "127.0.0.1:9000" },
      target: { type: "string" },
      "delay-ms": { type: "string", default: "0" },
      "jitter-ms": { type: "string", default: "0" },
      "bandwidth-mbps": { type: "string", default: "0" },
    },
  });
  if (!values.target) throw new Error("--target host:port is required");
  const [listenHost, listenPort] = values.listen!.split(":");
  const [targetHost, targetPort] = values.target.split(":");
  const proxy = await startLinkProxy({
    host: listenHost,
    port: Number(listenPort),
    target: { host: targetHost, port: Number(targetPort) },
    link: {
      delayMs: Number(values["delay-ms"]),
      jitterMs: Number(values["jitter-ms"]),
      bandwidthMbps: Number(values["bandwidth-mbps"]),
    },
  });
  console.log(`link proxy on ${listenHost}:${proxy.port} -> ${values.target}`);
}
