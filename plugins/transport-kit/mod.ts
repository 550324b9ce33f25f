/**
 * What transports share: length-prefixed framing with a memory budget for
 * partial frames, a one-consumer async queue, resumable connections over any
 * transport, and numbered channels sharing one transport's addresses. For writing transports; applications do not need it.
 *
 * @example
 * ```ts
 * import { resumableTransport } from "@switchyard/hybrid/transport-kit";
 * import { SystemClock, type Transport } from "@switchyard/hybrid";
 * declare const tcp: Transport;
 * const transport = resumableTransport(tcp, { clock: new SystemClock(), maxAttempts: 5 });
 * ```
 *
 * @module
 */
export { AsyncQueue } from "./async_queue.ts";
export { MAX_CHANNEL, TransportChannels } from "./channels.ts";
export type { TransportChannelsOptions, TransportChannelsStats } from "./channels.ts";
export { emptyConnectionStats } from "../../core/contracts/transport.ts";
export {
  FrameBudgetPool,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
  lengthPrefixed,
  oversizedSend,
} from "./length_prefix.ts";
export type { FrameBudget } from "./length_prefix.ts";
export { ResumableConnection, resumableTransport } from "./resumable.ts";
export type { ResumeHandshake, ResumeOptions } from "./resumable.ts";
