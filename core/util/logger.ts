/**
 * The logging contract: structured, levelled, and easy to replace.
 *
 * @module
 */

/** Structured context attached to a log line. */
export type LogFields = Record<string, unknown>;

/** Where the core writes what it does. Plug in any logger with these four methods. */
export interface Logger {
  /** Fine detail, off by default in {@linkcode consoleLogger}. */
  debug(message: string, fields?: LogFields): void;
  /** Normal operation: switches, starts, stops. */
  info(message: string, fields?: LogFields): void;
  /** Something went wrong but was handled: a probe failed, a drain timed out. */
  warn(message: string, fields?: LogFields): void;
  /** Something failed: a switch was rolled back. */
  error(message: string, fields?: LogFields): void;
}

/** A logger that discards everything. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

/** A log level name, from the most to the least verbose. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

/**
 * A logger writing one line per entry to the console, from `level` up.
 *
 * @example
 * ```ts
 * import { consoleLogger } from "./logger.ts";
 * const log = consoleLogger("warn");
 * log.warn("probe failed", { probe: "rtt" });
 * ```
 */
export function consoleLogger(level: LogLevel = "info", prefix = "switchyard"): Logger {
  const threshold = LEVELS.indexOf(level);
  const write = (at: LogLevel) => (message: string, fields?: LogFields) => {
    if (LEVELS.indexOf(at) < threshold) return;
    const suffix = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : "";
    console[at === "debug" ? "log" : at](`[${prefix}] ${at} ${message}${suffix}`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/**
 * A logger that adds `fields` to every entry of `parent`, e.g. the plugin id.
 *
 * @example
 * ```ts
 * import { childLogger, consoleLogger } from "./logger.ts";
 * const log = childLogger(consoleLogger(), { plugin: "compress-lz4" });
 * log.info("ready"); // ... ready {"plugin":"compress-lz4"}
 * ```
 */
export function childLogger(parent: Logger, fields: LogFields): Logger {
  const wrap = (write: Logger["info"]) => (message: string, extra?: LogFields) =>
    write(message, { ...fields, ...extra });
  return {
    debug: wrap(parent.debug.bind(parent)),
    info: wrap(parent.info.bind(parent)),
    warn: wrap(parent.warn.bind(parent)),
    error: wrap(parent.error.bind(parent)),
  };
}
