/**
 * Per-link compression on the wire: every frame a connection sends is
 * compressed with the compressor of its link's mode (LZ4 on a rack link,
 * zstd on a WAN link, …) into a self-describing frame, so the peer decodes
 * it whatever it chose itself. When a link's mode changes, its frames move
 * to the new compressor gradually: a share of them at each step (10 %,
 * 50 %, 100 % by default), each step held `holdMs`; a compressor that fails
 * during a step rolls the link back to the old one (that frame included),
 * and the link tries again only after `retryAfterMs`. Frames stay in order:
 * they share one connection, and each names its codec.
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";
import { SwitchyardError, toError } from "../../core/util/errors.ts";
import type { Compressor } from "../../core/contracts/compressor.ts";
import { oversizedSend } from "../transport-kit/length_prefix.ts";
import { decodeFrameHeader, encodeFrame } from "../../core/contracts/frame.ts";
import type { Mode, PerMode } from "../../core/contracts/mode.ts";
import type { Metrics } from "../../core/control/metrics.ts";
import type {
  ConnectionStats,
  Transport,
  TransportConnection,
  TransportListener,
} from "../../core/contracts/transport.ts";

/** The header a compression frame adds at most (the fixed part and a 32-byte codec name). */
export const FRAME_OVERHEAD_BYTES = 18 + 32;

/** How links compress. */
export interface LinkCompressionOptions {
  /** Time source of the steps. */
  clock: Clock;
  /** The compressor of each mode. */
  compressors: PerMode<Compressor>;
  /** The mode of the link to `address` (a dialed address; undefined for an accepted connection's peer). */
  modeOf(address: string | undefined): Mode;
  /** The name of the link to a dialed address, for stats (default: the address). */
  linkOf?(address: string): string;
  /** The share of frames at each step, increasing, the last 1 (default 10 %, 50 %, 100 %). */
  steps?: number[];
  /** How long each step is held, ms (default 1,000). */
  holdMs?: number;
  /** After a rollback, how long until the link tries the new compressor again, ms (default 30,000). */
  retryAfterMs?: number;
  /** Largest decoded frame accepted (default 64 MiB). */
  maxDecompressedBytes?: number;
  /** Step records kept per link (default 20). */
  historyLimit?: number;
  /**
   * Frames shorter than this are framed as they are, without trying the
   * codec (default 512 bytes): a consensus message of a few hundred bytes
   * rarely shrinks, and trying costs more than the bytes it could save.
   */
  minCompressBytes?: number;
  /** Where each link's frames and bytes are counted, by link and codec (none by default). */
  metrics?: Metrics;
}

/** One entry of a link's compressor history. */
export interface LinkCompressionRecord {
  /** When (the clock's ms). */
  atMs: number;
  /** `step`: a share began; `completed`, `rolled-back`, or `superseded` (the link's mode changed again). */
  event: "step" | "completed" | "rolled-back" | "superseded";
  /** The mode moved to. */
  to: Mode;
  /** The new compressor's share of the frames. */
  share: number;
  /** Why. */
  reason: string;
}

/** One link's compression, as stats report it. */
export interface LinkCompressionStatus {
  /** The link's name (as the probes name the peer). */
  link: string;
  /** The mode whose compressor carries the link's frames. */
  mode: Mode;
  /** Its codec. */
  codec: string;
  /** During a transition: the mode moved to, and its share of the frames now. */
  moving?: { to: Mode; share: number };
  /** Frames sent, and their bytes before and after compression. */
  frames: number;
  bytesIn: number;
  bytesOut: number;
  /** The last steps, oldest first. */
  history: LinkCompressionRecord[];
}

interface LinkState {
  link: string;
  mode: Mode;
  moving?: { to: Mode; step: number; stepStartedMs: number };
  credit: number;
  retryAtMs: number;
  frames: number;
  bytesIn: number;
  bytesOut: number;
  history: LinkCompressionRecord[];
}

/** A transport whose connections compress per link, and what each link does. */
export interface LinkCompressedTransport extends Transport {
  /** Every dialed link's compression, by dialed address. */
  links(): Record<string, LinkCompressionStatus>;
}

/**
 * Wraps `inner`: frames sent are compressed per link, frames received are
 * decoded whichever codec their sender chose (a frame no compressor here can
 * decode fails the connection with `FRAME_INVALID`).
 */
export function linkCompressedTransport(inner: Transport, options: LinkCompressionOptions): LinkCompressedTransport {
  const steps = options.steps ?? [0.1, 0.5, 1];
  const holdMs = options.holdMs ?? 1_000;
  const retryAfterMs = options.retryAfterMs ?? 30_000;
  const historyLimit = options.historyLimit ?? 20;
  const maxBytes = options.maxDecompressedBytes ?? 64 * 1024 * 1024;
  const minCompressBytes = options.minCompressBytes ?? 512;
  const clock = options.clock;
  const decoders = new Map<string, Compressor>();
  for (const compressor of Object.values(options.compressors)) {
    for (const codec of [compressor.codec, ...(compressor.codecs ?? [])]) {
      if (!decoders.has(codec)) decoders.set(codec, compressor);
    }
  }
  const links = new Map<string, LinkState>();
  const maxFrameBytes = inner.maxFrameBytes - FRAME_OVERHEAD_BYTES;

  const remember = (state: LinkState, entry: Omit<LinkCompressionRecord, "atMs">) => {
    state.history.push({ atMs: clock.now(), ...entry });
    if (state.history.length > historyLimit) state.history.shift();
  };

  /** The compressor of this frame, and the step bookkeeping it implies. */
  const choose = (state: LinkState, address: string | undefined): { compressor: Compressor; moving: boolean } => {
    const wanted = options.modeOf(address);
    const now = clock.now();
    if (state.moving && state.moving.to !== wanted) {
      remember(state, {
        event: "superseded",
        to: state.moving.to,
        share: 0,
        reason: `the link's mode is ${wanted} now`,
      });
      state.moving = undefined;
    }
    if (!state.moving && wanted !== state.mode && now >= state.retryAtMs) {
      state.moving = { to: wanted, step: 0, stepStartedMs: now };
      state.credit = 0;
      remember(state, { event: "step", to: wanted, share: steps[0], reason: `the link's mode changed to ${wanted}` });
    }
    const moving = state.moving;
    if (moving && now - moving.stepStartedMs >= holdMs) {
      if (moving.step + 1 < steps.length) {
        moving.step++;
        moving.stepStartedMs = now;
        remember(state, { event: "step", to: moving.to, share: steps[moving.step], reason: "the last step held" });
      } else {
        state.mode = moving.to;
        state.moving = undefined;
        remember(state, { event: "completed", to: state.mode, share: 1, reason: "every step held" });
      }
    }
    if (!state.moving) return { compressor: options.compressors[state.mode], moving: false };
    state.credit += steps[state.moving.step];
    if (state.credit >= 1 - 1e-9) {
      state.credit -= 1;
      return { compressor: options.compressors[state.moving.to], moving: true };
    }
    return { compressor: options.compressors[state.mode], moving: false };
  };

  /** Counts a frame sent on `state`'s link. */
  const count = (state: LinkState, frame: Uint8Array, out: Uint8Array) => {
    state.frames++;
    state.bytesIn += frame.length;
    state.bytesOut += out.length;
    if (!options.metrics) return;
    const labels = { link: state.link, codec: frameCodec(out) };
    options.metrics.increment("switchyard_link_frames_total", "Frames sent on each link, by codec.", labels);
    options.metrics.increment(
      "switchyard_link_original_bytes_total",
      "Bytes handed to each link before compression, by codec.",
      labels,
      frame.length,
    );
    options.metrics.increment(
      "switchyard_link_wire_bytes_total",
      "Bytes each link put on the wire after compression, by codec.",
      labels,
      out.length,
    );
  };

  /**
   * The frame `frame` goes as on `state`'s link: at once (a small frame,
   * stored), or once its compressor is done (a rollback if it fails during a
   * step: then the old compressor's frame).
   */
  const encode = (
    state: LinkState,
    address: string | undefined,
    frame: Uint8Array,
  ): Uint8Array | Promise<Uint8Array> => {
    const { compressor, moving } = choose(state, address);
    // What a failure of this frame's compressor falls back to, and the transition it would roll back.
    const [fallback, transition] = [options.compressors[state.mode], state.moving];
    if (frame.length < minCompressBytes) {
      // Stored in the compressor's own frame (any peer reads a stored frame), the codec not even tried.
      const out = encodeFrame(compressor.codec, 0, frame, frame, true);
      count(state, frame, out);
      return out;
    }
    return (async () => {
      let out: Uint8Array;
      try {
        out = await compressor.compress(frame);
      } catch (error) {
        if (!moving) throw error;
        // Every frame given to the new compressor falls back, those already under way included; the first
        // failure of a transition still running rolls it back.
        if (state.moving === transition && transition) {
          const reason = `${compressor.codec} failed: ${toError(error).message}`;
          remember(state, { event: "rolled-back", to: transition.to, share: 0, reason });
          state.moving = undefined;
          state.retryAtMs = clock.now() + retryAfterMs;
        }
        out = await fallback.compress(frame);
      }
      count(state, frame, out);
      return out;
    })();
  };

  const newState = (link: string): LinkState => ({
    link,
    mode: options.modeOf(undefined),
    credit: 0,
    retryAtMs: 0,
    frames: 0,
    bytesIn: 0,
    bytesOut: 0,
    history: [],
  });

  const wrap = (connection: TransportConnection, address: string | undefined): TransportConnection => {
    const state = address === undefined ? newState(connection.remoteAddress) : (() => {
      const known = links.get(address);
      if (known) return known;
      const created = newState(options.linkOf?.(address) ?? address);
      created.mode = options.modeOf(address);
      links.set(address, created);
      return created;
    })();
    // Frames go to the connection in the order they were sent; one whose compression is under way holds back
    // those after it (`queued`), and the others go at once, without waiting for the connection to take the last.
    let chain: Promise<unknown> = Promise.resolve();
    let queued = 0;
    return {
      get localAddress() {
        return connection.localAddress;
      },
      get remoteAddress() {
        return connection.remoteAddress;
      },
      closed: connection.closed,
      send(frame: Uint8Array): Promise<void> {
        const tooLarge = oversizedSend(frame.length, maxFrameBytes);
        if (tooLarge) {
          connection.close().catch(() => {});
          return Promise.reject(tooLarge);
        }
        let out: Uint8Array | Promise<Uint8Array>;
        try {
          out = encode(state, address, frame);
        } catch (error) {
          return Promise.reject(error);
        }
        if (out instanceof Uint8Array && queued === 0) return connection.send(out);
        // Marked handled now: a frame that fails while an earlier one still compresses is rejected before the
        // chain reaches it; its send() call still gets the rejection.
        if (!(out instanceof Uint8Array)) out.catch(() => {});
        queued++;
        const ready = chain.then(() => out);
        chain = ready.catch(() => {});
        return ready.then(
          (bytes) => {
            queued--;
            return connection.send(bytes);
          },
          (error) => {
            queued--;
            throw error;
          },
        );
      },
      async *frames(): AsyncIterable<Uint8Array> {
        for await (const raw of connection.frames()) {
          let header;
          try {
            header = decodeFrameHeader(raw, maxBytes);
          } catch (error) {
            await connection.close().catch(() => {});
            throw error;
          }
          const decoder = decoders.get(header.codec) ?? options.compressors[state.mode];
          try {
            yield await decoder.decompress(raw);
          } catch (error) {
            await connection.close().catch(() => {});
            if (error instanceof SwitchyardError) throw error;
            throw new SwitchyardError("FRAME_INVALID", `link compression: ${toError(error).message}`, { cause: error });
          }
        }
      },
      drain: async () => {
        await chain;
        await connection.drain();
      },
      close: async () => {
        await chain;
        await connection.close();
      },
      stats: (): ConnectionStats => connection.stats(),
    };
  };

  return {
    name: `${inner.name}+links`,
    maxFrameBytes,
    async dial(address) {
      return wrap(await inner.dial(address), address);
    },
    async listen(address): Promise<TransportListener> {
      const listener = await inner.listen(address);
      return {
        address: listener.address,
        async *connections() {
          for await (const connection of listener.connections()) yield wrap(connection, undefined);
        },
        close: () => listener.close(),
      };
    },
    links: () =>
      Object.fromEntries(
        [...links].map(([address, state]) => [address, {
          link: state.link,
          mode: state.mode,
          codec: options.compressors[state.mode].codec,
          ...(state.moving ? { moving: { to: state.moving.to, share: steps[state.moving.step] } } : {}),
          frames: state.frames,
          bytesIn: state.bytesIn,
          bytesOut: state.bytesOut,
          history: state.history.map((entry) => ({ ...entry })),
        }]),
      ),
  };
}

/** The codec a frame names (bytes 4 … 4 + n), read without checking the frame: this side just made it. */
function frameCodec(frame: Uint8Array): string {
  return String.fromCharCode(...frame.subarray(4, 4 + frame[3]));
}
