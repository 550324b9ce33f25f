/**
 * Loads a third-party plugin (`compress_deflate.ts`, pinned by its sha384 in
 * `manifest.json`) next to two built-ins, and shows the compression component
 * following the mode as a replayed network goes from a rack to a WAN and back.
 *
 * Run: `deno task example:plugin` (or `bun examples/custom-plugin/main.ts`).
 *
 * @module
 */
import { COMPRESSION, fromManifest } from "@switchyard/hybrid";
import { sampleJson } from "@switchyard/hybrid/testing";

const manager = await fromManifest(new URL("./manifest.json", import.meta.url), {
  nodeId: "plugin-example",
  config: { detectionIntervalMs: 100, sampleWindow: 3, cooldownMs: 300, initialMode: "datacenter" },
});

console.log("plugins:");
for (const plugin of manager.getStats().plugins) {
  console.log(`  ${plugin.id.padEnd(18)} ${plugin.state.padEnd(7)} ${plugin.version ?? ""} ${plugin.reason ?? ""}`);
}

const document = sampleJson(256 * 1024);
async function report(label: string) {
  const codec = manager.getComponent(COMPRESSION);
  const frame = await codec.compress(document);
  const back = await codec.decompress(frame);
  if (back.length !== document.length) throw new Error("round trip failed");
  console.log(
    `${label.padEnd(28)} mode ${manager.currentMode.padEnd(10)} codec ${codec.codec.padEnd(8)} ` +
      `${document.length} -> ${frame.length} bytes (${(document.length / frame.length).toFixed(2)}x)`,
  );
}

manager.onModeChange(({ from, to }) => console.log(`switch: ${from} -> ${to}`));
await manager.start();
await report("start");
await new Promise((resolve) => setTimeout(resolve, 1_800));
await report("during the WAN stretch");
await new Promise((resolve) => setTimeout(resolve, 1_500));
await report("back in the rack");
await manager.close();
