/**
 * `transport-rdma`: RDMA through librdmacm's rsocket API, loaded with FFI
 * (`Deno.dlopen`, `bun:ffi`) from one symbol table. Creating it detects RDMA
 * first; where there is none (no library, no `--allow-ffi`, no device) it
 * fails with that reason, the loader records it, and `transport-adaptive`
 * falls back to TCP.
 *
 * Status: detection is complete and tested here; the rsocket data path is not
 * built yet (this machine has no RDMA device to prove it on), so a found
 * device also fails creation, saying so, rather than pretending.
 *
 * @module
 */
import * as v from "valibot";
import { SwitchyardError } from "../../core/errors.ts";
import { definePlugin, type Plugin } from "../../core/plugin.ts";
import type { Transport } from "../../core/transport.ts";
import { detectRdma } from "./detect.ts";
import { RDMACM_LIBRARIES } from "./symbols.ts";

const options = v.strictObject({
  /** Library file names to try. */
  libraries: v.optional(v.array(v.pipe(v.string(), v.minLength(1))), [...RDMACM_LIBRARIES]),
});

/** The plugin. */
const plugin: Plugin<v.InferOutput<typeof options>, Transport> = definePlugin({
  id: "transport-rdma",
  version: "0.1.0",
  kind: "transport",
  description: "RDMA via librdmacm rsockets over FFI (detection and fallback; data path pending).",
  modes: ["datacenter", "hybrid"],
  provides: ["transport:rdma"],
  compat: { core: "^0.1.0", runtimes: ["deno", "bun"] },
  permissions: ["ffi"],
  options,
  async create(context, config) {
    const rdma = await detectRdma(config.libraries);
    if (!rdma.available) throw new SwitchyardError("PLUGIN_FAILED", `RDMA unavailable: ${rdma.reason}`);
    rdma.close();
    context.logger.warn(`found ${rdma.devices} RDMA device(s), but the rsocket data path is not implemented yet`);
    throw new SwitchyardError(
      "PLUGIN_FAILED",
      `found ${rdma.devices} RDMA device(s) via ${rdma.path}, but the rsocket data path is not implemented yet`,
    );
  },
});
export default plugin;
