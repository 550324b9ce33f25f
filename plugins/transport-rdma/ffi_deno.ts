/**
 * Loads librdmacm with `Deno.dlopen`.
 *
 * @module
 */
import { RDMACM_SYMBOLS, type RdmacmLibrary } from "./symbols.ts";

/** Opens `path` and binds the symbol table; throws the runtime's error when the file cannot be loaded. */
export function openDeno(
  path: string,
): { library: RdmacmLibrary; close(): void; devices(): number; pointerOf(view: Uint8Array): unknown } {
  const table = Object.fromEntries(
    Object.entries(RDMACM_SYMBOLS).map(([name, symbol]) => [
      name,
      {
        parameters: [...symbol.parameters],
        result: symbol.result,
        ...("blocking" in symbol && symbol.blocking ? { nonblocking: true } : {}),
      },
    ]),
  ) as unknown as Deno.ForeignLibraryInterface;
  const handle = Deno.dlopen(path, table);
  const symbols = handle.symbols as unknown as RdmacmLibrary & {
    rdma_get_devices(count: Deno.PointerValue): Deno.PointerValue;
    rdma_free_devices(list: Deno.PointerValue): void;
  };
  return {
    library: symbols,
    close: () => handle.close(),
    pointerOf: (view) => Deno.UnsafePointer.of(view as Uint8Array<ArrayBuffer>),
    devices() {
      const count = new Int32Array(1);
      const list = symbols.rdma_get_devices(Deno.UnsafePointer.of(count));
      if (list !== null) symbols.rdma_free_devices(list);
      return list === null ? 0 : count[0];
    },
  };
}
