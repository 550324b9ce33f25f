/**
 * Counters and gauges, labelled, in one registry the admin endpoint can
 * render. Plugins get a registry scoped with their id.
 *
 * @module
 */
import { SwitchyardError } from "../util/errors.ts";

/** Label names and values of one series. */
export type Labels = Record<string, string>;

/** One series' current value. */
export interface MetricPoint {
  /** Metric name, e.g. `switchyard_frames_sent_total`. */
  name: string;
  /** `counter` only goes up; `gauge` is set. */
  type: "counter" | "gauge";
  /** One line of help text. */
  help: string;
  /** The series' labels. */
  labels: Labels;
  /** The value. */
  value: number;
}

/** What plugins and the core record metrics through. */
export interface Metrics {
  /** Adds `by` (default 1, must be ≥ 0) to a counter. */
  increment(name: string, help: string, labels?: Labels, by?: number): void;
  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels?: Labels): void;
  /** The same registry, with `labels` added to every series. */
  scoped(labels: Labels): Metrics;
  /** Every series, sorted by name then labels. */
  snapshot(): MetricPoint[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const seriesKey = (name: string, labels: Labels) =>
  `${name}{${Object.keys(labels).sort().map((key) => `${key}=${JSON.stringify(labels[key])}`).join(",")}}`;

/**
 * An in-memory metrics registry.
 *
 * @example
 * ```ts
 * import { MetricsRegistry } from "./metrics.ts";
 * const metrics = new MetricsRegistry();
 * metrics.scoped({ plugin: "transport-tcp" }).increment("switchyard_frames_sent_total", "Frames sent.");
 * metrics.snapshot()[0].value; // 1
 * ```
 */
export class MetricsRegistry implements Metrics {
  readonly #series = new Map<string, MetricPoint>();

  /** Adds to a counter; throws `INVALID_ARGUMENT` for a negative step or a bad name. */
  increment(name: string, help: string, labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new SwitchyardError("INVALID_ARGUMENT", `metric ${name}: a counter only goes up, got ${by}`);
    this.#point(name, "counter", help, labels).value += by;
  }

  /** Sets a gauge. */
  set(name: string, help: string, value: number, labels: Labels = {}): void {
    this.#point(name, "gauge", help, labels).value = value;
  }

  /** A view of this registry adding `labels` to every series. */
  scoped(labels: Labels): Metrics {
    return {
      increment: (name, help, extra = {}, by = 1) => this.increment(name, help, { ...labels, ...extra }, by),
      set: (name, help, value, extra = {}) => this.set(name, help, value, { ...labels, ...extra }),
      scoped: (more) => this.scoped({ ...labels, ...more }),
      snapshot: () => this.snapshot(),
    };
  }

  /** Every series. */
  snapshot(): MetricPoint[] {
    return [...this.#series.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, point]) => ({
      ...point,
      labels: { ...point.labels },
    }));
  }

  #point(name: string, type: MetricPoint["type"], help: string, labels: Labels): MetricPoint {
    if (!NAME.test(name)) {
      throw new SwitchyardError("INVALID_ARGUMENT", `metric name ${JSON.stringify(name)} is not a valid metric name`);
    }
    const key = seriesKey(name, labels);
    let point = this.#series.get(key);
    if (!point) {
      point = { name, type, help, labels: { ...labels }, value: 0 };
      this.#series.set(key, point);
    } else if (point.type !== type) {
      throw new SwitchyardError("INVALID_ARGUMENT", `metric ${name} is a ${point.type}, not a ${type}`);
    }
    return point;
  }
}
