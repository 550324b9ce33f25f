/**
 * A small pool of module workers running the zstd encoder (native where the
 * runtime has it, else WASM), so heavy levels never block the event loop.
 * Workers start on first use, on a web `Worker` or `node:worker_threads`
 * (see `thread.ts`); `close()` ends them all, after which the pool takes no
 * more work, so nothing of it keeps the process alive.
 *
 * @module
 */
import { ZSTD_ERRORS } from "./errors.ts";
import { startThread, type WorkerThread } from "./thread.ts";
import { ZSTD_WORKER_URL } from "./worker_url.ts";

interface Slot {
  thread: WorkerThread;
  /** Jobs in flight on this worker, by id. */
  jobs: Map<number, Job>;
}

interface Job {
  resolve(out: Uint8Array): void;
  reject(error: Error): void;
}

type Reply = { id: number; out?: Uint8Array; error?: string };

/** Runs `compress(data, level)` on worker threads. */
export class ZstdWorkerPool {
  readonly #size: number;
  readonly #url: URL;
  readonly #slots: Slot[] = [];
  #nextId = 1;
  #closed = false;

  /**
   * Creates a pool of up to `size` workers (default: cores − 1, at least 1)
   * running the module at `url` (the zstd worker by default).
   */
  constructor(size = Math.max(1, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1), url = ZSTD_WORKER_URL) {
    this.#size = size;
    this.#url = url;
  }

  /** How many workers are running. */
  get workers(): number {
    return this.#slots.length;
  }

  /** Compresses on the least busy worker with `engine`; rejects with `ZSTD_WORKER_FAILED` once the pool is closed. */
  compress(data: Uint8Array, level: number, engine: "native" | "wasm"): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(ZSTD_ERRORS.error("ZSTD_WORKER_FAILED", "zstd worker pool closed"));
    const slot = this.#pick();
    const id = this.#nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      slot.jobs.set(id, { resolve, reject });
      slot.thread.post({ id, data, level, engine }, []);
    });
  }

  /** Ends every worker; pending jobs reject with `ZSTD_WORKER_FAILED`. Final: the pool takes no more work. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#fail(slot, "zstd worker pool closed");
    await Promise.all(slots.map((slot) => slot.thread.terminate()));
  }

  #pick(): Slot {
    const idle = this.#slots.find((slot) => slot.jobs.size === 0);
    if (idle) return idle;
    if (this.#slots.length < this.#size) return this.#start();
    return this.#slots.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
  }

  #start(): Slot {
    const slot: Slot = {
      jobs: new Map(),
      thread: startThread(this.#url, {
        message: (data) => {
          const reply = data as Reply;
          const job = slot.jobs.get(reply.id);
          if (!job) return;
          slot.jobs.delete(reply.id);
          if (reply.out) job.resolve(reply.out);
          else job.reject(ZSTD_ERRORS.error("ZSTD_WORKER_FAILED", reply.error ?? "zstd worker failed"));
        },
        failure: (reason) => {
          // A failed worker takes no more work: its jobs reject, and the next job starts a fresh one.
          const at = this.#slots.indexOf(slot);
          if (at >= 0) this.#slots.splice(at, 1);
          this.#fail(slot, `zstd worker crashed: ${reason}`);
          slot.thread.terminate().catch(() => {});
        },
      }),
    };
    this.#slots.push(slot);
    return slot;
  }

  #fail(slot: Slot, message: string): void {
    for (const job of slot.jobs.values()) job.reject(ZSTD_ERRORS.error("ZSTD_WORKER_FAILED", message));
    slot.jobs.clear();
  }
}
