/**
 * Whether RDMA can be used here, and if not, why: the library is missing,
 * the process may not load native code, or there is no RDMA device.
 *
 * @module
 */
import { RDMA_ERRORS } from "./errors.ts";
import { currentRuntime } from "../../core/util/runtime.ts";
import { RDMACM_LIBRARIES, type RdmacmLibrary } from "./symbols.ts";

/** The outcome of detection. */
export type RdmaAvailability =
  | {
    available: true;
    library: RdmacmLibrary;
    pointerOf(view: Uint8Array): unknown;
    path: string;
    devices: number;
    close(): void;
  }
  | { available: false; reason: string };

async function open(path: string) {
  const runtime = currentRuntime();
  if (runtime === "deno") return (await import("./ffi_deno.ts")).openDeno(path);
  if (runtime === "bun") return await (await import("./ffi_bun.ts")).openBun(path);
  throw RDMA_ERRORS.error("RDMA_UNAVAILABLE", `FFI is not supported on ${runtime}`);
}

/**
 * Loads librdmacm through FFI and counts RDMA devices. Never throws: every
 * failure becomes `{ available: false, reason }`.
 */
export async function detectRdma(libraries: readonly string[] = RDMACM_LIBRARIES): Promise<RdmaAvailability> {
  const runtime = currentRuntime();
  if (runtime === "deno") {
    const state = Deno.permissions.querySync({ name: "ffi" }).state;
    if (state !== "granted") return { available: false, reason: "loading librdmacm needs --allow-ffi" };
  }
  const failures: string[] = [];
  for (const path of libraries) {
    let loaded;
    try {
      loaded = await open(path);
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message.split("\n")[0]}`);
      continue;
    }
    const devices = loaded.devices();
    if (devices === 0) {
      loaded.close();
      return {
        available: false,
        reason: `no RDMA device (librdmacm loaded from ${path}; rdma_get_devices found none)`,
      };
    }
    return {
      available: true,
      library: loaded.library,
      pointerOf: loaded.pointerOf,
      path,
      devices,
      close: loaded.close,
    };
  }
  return {
    available: false,
    reason: `librdmacm not found (${failures.join("; ")}); on Debian: apt-get install librdmacm1`,
  };
}
