/**
 * A small pool of module workers running the zstd encoder (native where the
 * runtime has it, else WASM), so heavy levels never block the event loop.
 * Workers start on first use and are terminated by `close()`.
 *
 * @module
 */
import { ZSTD_ERRORS } from "./errors.ts";

interface Job {
  id: number;
  resolve(out: Uint8Array): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

/** Runs `compress(data, level)` on worker threads. */
export class ZstdWorkerPool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #jobs = new Map<number, Job>();
  #nextId = 1;

  /** Creates a pool of up to `size` workers (default: cores − 1, at least 1). */
  constructor(size = Math.max(1, (globalThis.navigator?.hardwareConcurrency ?? 2) - 1)) {
    this.#size = size;
  }

  /** Compresses on the least busy worker with `engine`. */
  compress(data: Uint8Array, level: number, engine: "native" | "wasm"): Promise<Uint8Array> {
    const slot = this.#pick();
    const id = this.#nextId++;
    slot.busy++;
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#jobs.set(id, { id, resolve, reject });
      slot.worker.postMessage({ id, data, level, engine });
    }).finally(() => slot.busy--);
  }

  /** Terminates every worker; pending jobs reject. */
  close(): void {
    for (const slot of this.#slots) slot.worker.terminate();
    this.#slots.length = 0;
    for (const job of this.#jobs.values()) {
      job.reject(ZSTD_ERRORS.error("ZSTD_WORKER_FAILED", "zstd worker pool closed"));
    }
    this.#jobs.clear();
  }

  #pick(): Slot {
    const idle = this.#slots.find((slot) => slot.busy === 0);
    if (idle) return idle;
    if (this.#slots.length < this.#size) {
      const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
      worker.onmessage = (event: MessageEvent<{ id: number; out?: Uint8Array; error?: string }>) => {
        const job = this.#jobs.get(event.data.id);
        if (!job) return;
        this.#jobs.delete(job.id);
        if (event.data.out) job.resolve(event.data.out);
        else job.reject(ZSTD_ERRORS.error("ZSTD_WORKER_FAILED", event.data.error ?? "zstd worker failed"));
      };
      worker.onerror = (event) => {
        event.preventDefault?.();
        for (const job of this.#jobs.values()) {
          job.reject(ZSTD_ERRORS.error("ZSTD_WORKER_FAILED", `zstd worker crashed: ${event.message}`));
        }
        this.#jobs.clear();
      };
      const slot = { worker, busy: 0 };
      this.#slots.push(slot);
      return slot;
    }
    return this.#slots.reduce((a, b) => (b.busy < a.busy ? b : a));
  }
}
