/**
 * TCP for applications (`@switchyard/hybrid/transport-tcp`): a framed
 * transport over TCP on Deno and Bun ({@linkcode openTcpTransport}) with the
 * guards that keep a listener alive under resets, floods and stalls, TLS, and
 * resumable connections. The manifest plugin is `builtin:transport-tcp`;
 * its options and what it survives are in `docs/transports.md`.
 *
 * @example
 * ```ts
 * import { openTcpTransport, parseTcpOptions } from "@switchyard/hybrid/transport-tcp";
 * import { SystemClock } from "@switchyard/hybrid";
 * const tcp = await openTcpTransport(parseTcpOptions({ dialAttempts: 5 }), new SystemClock());
 * const listener = await tcp.listen("127.0.0.1:7001");
 * ```
 *
 * @module
 */
export { openTcpTransport, parseAddress, parseTcpOptions } from "./mod.ts";
export type { TcpOptions, TcpTransport, TcpTransportStats } from "./mod.ts";
export type { GuardCounters } from "./guards.ts";
export type { AcceptErrorCounts } from "./accept_errors.ts";
