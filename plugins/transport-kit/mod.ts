/**
 * What transports share: length-prefixed framing with a memory budget for
 * partial frames, a one-consumer async queue, resumable connections over any
 * transport, numbered channels sharing one transport's addresses, and
 * steered connections whose traffic a gradual switch moves from one path
 * (transport) to another in health-checked steps, rolling back on
 * degradation. For writing transports and per-link components.
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
export { dialSteered, listenSteered, SteeredConnection, steeredTransport } from "./steered.ts";
export type { GradualReport, SteeredOptions, SteeringStats, StepRecord } from "./steered.ts";
export { judgeStep, resolveGradualOptions } from "./gradual.ts";
export type { GradualOptions, GradualOptionsInput, PathHealth, StepVerdict } from "./gradual.ts";
