/**
 * A worker for the zstd pool's tests: answers `{ id, data }` with `data`
 * itself as `out`, except that a request whose first byte is 1 crashes it
 * (an uncaught error), on a web Worker and on `node:worker_threads` alike.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

type Request = { id: number; data: Uint8Array };

const web = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Request>) => void) | null;
  postMessage(message: unknown): void;
};

function handle({ id, data }: Request): void {
  if (data[0] === 1) throw new Error("asked to crash");
  const reply = { id, out: data };
  if (parentPort) parentPort.postMessage(reply);
  else web.postMessage(reply);
}

if (parentPort) parentPort.on("message", handle);
else web.onmessage = (event) => handle(event.data);
