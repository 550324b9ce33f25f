import assert from "node:assert/strict";
import { COMPRESSION, fromManifest, ManualClock, silentLogger } from "../../mod.ts";
import { pluginCompliance, runCompliance } from "../../testing/mod.ts";
import deflate from "../../examples/custom-plugin/compress_deflate.ts";

runCompliance("example compress-deflate", pluginCompliance(deflate));

Deno.test("the custom plugin example loads through its manifest (integrity current) and follows the mode", async () => {
  const clock = new ManualClock();
  const manager = await fromManifest(
    new URL("../../examples/custom-plugin/manifest.json", import.meta.url),
    { clock, logger: silentLogger, config: { detectionIntervalMs: 100, sampleWindow: 1, cooldownMs: 0 } },
  );
  assert.deepEqual(manager.getStats().plugins.map((p) => [p.id, p.state, p.reason]), [
    ["compress-deflate", "loaded", undefined],
    ["compress-none", "loaded", undefined],
    ["probe-replay", "loaded", undefined],
  ]);
  await manager.start();
  await clock.advance(0);
  assert.equal(manager.currentMode, "datacenter");
  assert.equal(manager.getComponent(COMPRESSION).codec, "none");
  await clock.advance(1_300);
  assert.equal(manager.currentMode, "internet");
  const codec = manager.getComponent(COMPRESSION);
  assert.equal(codec.codec, "deflate");
  const data = new TextEncoder().encode("abc".repeat(10_000));
  const frame = await codec.compress(data);
  assert.ok(frame.length < data.length / 20, `deflate should compress repetition, got ${frame.length}`);
  assert.deepEqual(await codec.decompress(frame), data);
  await manager.close();
});
