/**
 * Which TCP congestion control the kernel uses for new connections.
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** The file Linux exposes it in. */
export const CONGESTION_CONTROL_FILE = "/proc/sys/net/ipv4/tcp_congestion_control";

/** The kernel's default congestion control (e.g. `"bbr"`, `"cubic"`), or `"unknown"` where it cannot be read. */
export function systemCongestionControl(file = CONGESTION_CONTROL_FILE): string {
  try {
    return readFileSync(file, "utf8").trim() || "unknown";
  } catch {
    return "unknown";
  }
}
