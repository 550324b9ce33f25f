/**
 * An unbounded async queue with one consumer at a time: producers push, the
 * consumer iterates; `end()` finishes the iteration after the queued items,
 * `fail()` makes it throw after them. Breaking out of a loop does not end the
 * queue: a later loop continues where the last one stopped.
 *
 * @module
 */

/**
 * A queue read with `for await`.
 *
 * @example
 * ```ts
 * import { AsyncQueue } from "./async_queue.ts";
 * const queue = new AsyncQueue<number>();
 * queue.push(1);
 * queue.end();
 * for await (const item of queue) console.log(item); // 1
 * ```
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  // Items live in #items from #head on; taking one moves #head (Array.shift would be O(n)).
  #items: T[] = [];
  #head = 0;
  #waiting: ((result: IteratorResult<T>) => void) | undefined;
  #failWaiting: ((error: unknown) => void) | undefined;
  #ended = false;
  #error: unknown;
  #hasError = false;
  /** Called after the consumer takes an item. */
  onTake: ((item: T) => void) | undefined;

  /** Items waiting for the consumer. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Adds an item (ignored after the end). */
  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiting) {
      const resolve = this.#waiting;
      this.#waiting = this.#failWaiting = undefined;
      resolve({ value: item, done: false });
      this.onTake?.(item);
    } else {
      this.#items.push(item);
    }
  }

  /** Ends the iteration after the queued items. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#waiting && this.size === 0) {
      const resolve = this.#waiting;
      const reject = this.#failWaiting!;
      this.#waiting = this.#failWaiting = undefined;
      if (this.#hasError) reject(this.#error);
      else resolve({ value: undefined, done: true });
    }
  }

  /** Ends the iteration with `error` after the queued items. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#error = error;
    this.#hasError = true;
    this.end();
  }

  /** Iterates the items. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.size > 0) {
          const item = this.#items[this.#head];
          this.#items[this.#head++] = undefined as T;
          if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
            this.#items = this.#items.slice(this.#head);
            this.#head = 0;
          }
          this.onTake?.(item);
          return Promise.resolve({ value: item, done: false });
        }
        if (this.#ended) {
          return this.#hasError ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve, reject) => {
          this.#waiting = resolve;
          this.#failWaiting = reject;
        });
      },
      // Leaving a loop early releases this iterator; the queue goes on for the next one.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}
