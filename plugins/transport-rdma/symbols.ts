/**
 * librdmacm's rsocket API and device listing, as one runtime-neutral symbol
 * table; `ffi_deno.ts` and `ffi_bun.ts` turn it into each runtime's form.
 * Calls that can wait on the network are marked `blocking`: Deno runs them on
 * its FFI thread pool (`nonblocking`), so they never block the event loop.
 *
 * @module
 */

/** Argument and result types, by their C meaning. */
export type NativeType = "i32" | "u32" | "pointer" | "usize" | "isize" | "void";

/** One C function. */
export interface NativeSymbol {
  /** Argument types. */
  parameters: readonly NativeType[];
  /** Result type. */
  result: NativeType;
  /** Whether the call can wait on the network. */
  blocking?: boolean;
}

/** Library file names to try, most specific first. */
export const RDMACM_LIBRARIES: readonly string[] = ["librdmacm.so.1", "librdmacm.so"];

/** The functions used: device listing, and the socket-like rsocket calls. */
export const RDMACM_SYMBOLS = {
  rdma_get_devices: { parameters: ["pointer"], result: "pointer" },
  rdma_free_devices: { parameters: ["pointer"], result: "void" },
  rsocket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  rbind: { parameters: ["i32", "pointer", "u32"], result: "i32" },
  rlisten: { parameters: ["i32", "i32"], result: "i32" },
  raccept: { parameters: ["i32", "pointer", "pointer"], result: "i32", blocking: true },
  rconnect: { parameters: ["i32", "pointer", "u32"], result: "i32", blocking: true },
  rsend: { parameters: ["i32", "pointer", "usize", "i32"], result: "isize", blocking: true },
  rrecv: { parameters: ["i32", "pointer", "usize", "i32"], result: "isize", blocking: true },
  rpoll: { parameters: ["pointer", "u32", "i32"], result: "i32", blocking: true },
  rclose: { parameters: ["i32"], result: "i32" },
  rgetsockname: { parameters: ["i32", "pointer", "pointer"], result: "i32" },
  // Variadic in C; called with one int argument (F_SETFL, O_NONBLOCK), which the x86-64 and AArch64 ABIs pass alike.
  rfcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
} as const satisfies Record<string, NativeSymbol>;

/** The loaded functions, whatever the runtime (Deno's `blocking` ones return promises). */
export type RdmacmLibrary = {
  [K in keyof typeof RDMACM_SYMBOLS]: (...args: unknown[]) => unknown;
};

/** The library plus the one memory operation the data path needs: a pointer to a byte view, for the call at hand. */
export interface RsocketApi {
  /** The functions. */
  library: RdmacmLibrary;
  /** A pointer to `view`'s first byte, valid while `view` lives. */
  pointerOf(view: Uint8Array): unknown;
}
