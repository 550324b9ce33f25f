/**
 * The simulator's agenda: events ordered by time, ties in insertion order.
 *
 * @module
 */

interface Scheduled {
  atMs: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of timed callbacks. */
export class EventQueue {
  #heap: Scheduled[] = [];
  #seq = 0;
  /** Simulated time of the event being run. */
  nowMs = 0;

  /** Runs `run` at `atMs` (not before now). */
  at(atMs: number, run: () => void): void {
    this.#push({ atMs: Math.max(atMs, this.nowMs), seq: this.#seq++, run });
  }

  /** Runs `run` after `delayMs`. */
  after(delayMs: number, run: () => void): void {
    this.at(this.nowMs + delayMs, run);
  }

  /**
   * Runs events in order until none is due by `untilMs`; returns how many ran.
   * Throws after `maxEvents`, so a schedule that never settles (events that
   * keep scheduling events at the same instant) fails instead of hanging.
   */
  runUntil(untilMs: number, maxEvents = Infinity): number {
    let count = 0;
    while (this.#heap.length > 0 && this.#heap[0].atMs <= untilMs) {
      if (count >= maxEvents) {
        throw new Error(`more than ${maxEvents} events by ${this.nowMs} ms: the schedule does not settle`);
      }
      const event = this.#pop();
      this.nowMs = event.atMs;
      event.run();
      count++;
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
    return count;
  }

  #push(item: Scheduled): void {
    const heap = this.#heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  #pop(): Scheduled {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < heap.length && before(heap[left], heap[smallest])) smallest = left;
        if (right < heap.length && before(heap[right], heap[smallest])) smallest = right;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest], heap[i]];
        i = smallest;
      }
    }
    return top;
  }
}

function before(a: Scheduled, b: Scheduled): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
