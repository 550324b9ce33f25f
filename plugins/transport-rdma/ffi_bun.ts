/**
 * Loads librdmacm with `bun:ffi`.
 *
 * @module
 */
import { RDMACM_SYMBOLS, type RdmacmLibrary } from "./symbols.ts";

const BUN_TYPES: Record<string, string> = {
  i32: "i32",
  u32: "u32",
  pointer: "ptr",
  usize: "u64",
  isize: "i64",
  void: "void",
};

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
    symbols: Record<string, (...args: unknown[]) => unknown>;
    close(): void;
  };
  ptr(view: ArrayBufferView): number;
}

/** Opens `path` and binds the symbol table; throws the runtime's error when the file cannot be loaded. */
export async function openBun(
  path: string,
): Promise<{ library: RdmacmLibrary; close(): void; devices(): number; pointerOf(view: Uint8Array): unknown }> {
  const ffi = await import("bun:" + "ffi") as unknown as BunFfi;
  const table = Object.fromEntries(
    Object.entries(RDMACM_SYMBOLS).map(([name, symbol]) => [
      name,
      { args: symbol.parameters.map((type) => BUN_TYPES[type]), returns: BUN_TYPES[symbol.result] },
    ]),
  );
  const handle = ffi.dlopen(path, table);
  const symbols = handle.symbols as unknown as RdmacmLibrary;
  return {
    library: symbols,
    close: () => handle.close(),
    pointerOf: (view) => ffi.ptr(view),
    devices() {
      const count = new Int32Array(1);
      const list = symbols.rdma_get_devices(ffi.ptr(count));
      if (list) symbols.rdma_free_devices(list);
      return list ? count[0] : 0;
    },
  };
}
