/**
 * A component implementation that records its lifecycle calls and can be
 * told to fail or to drain slowly.
 *
 * @module
 */
import { componentKey, type Lifecycle } from "../../mod.ts";

/** The key the harness registers its recording component under. */
export const CODEC = componentKey<RecordingComponent>("codec");

/** Records `activate`, `drain` and `deactivate` calls into a shared log. */
export class RecordingComponent implements Lifecycle {
  /** Throw from `activate()` when set. */
  failActivate: Error | undefined;
  /** Never finish draining unless the signal aborts. */
  slowDrain = false;
  /** Whether `drain` saw its signal abort. */
  drainAborted = false;

  /** Creates an implementation called `label`, appending to `log`. */
  constructor(readonly label: string, readonly log: string[] = []) {}

  /** Records the call, or throws `failActivate`. */
  activate(): Promise<void> {
    this.log.push(`activate ${this.label}`);
    return this.failActivate ? Promise.reject(this.failActivate) : Promise.resolve();
  }

  /** Records the call; with `slowDrain`, waits for the abort. */
  drain(signal: AbortSignal): Promise<void> {
    this.log.push(`drain ${this.label}`);
    if (!this.slowDrain) return Promise.resolve();
    return new Promise((resolve) =>
      signal.addEventListener("abort", () => {
        this.drainAborted = true;
        resolve();
      })
    );
  }

  /** Records the call. */
  deactivate(): Promise<void> {
    this.log.push(`deactivate ${this.label}`);
    return Promise.resolve();
  }
}
