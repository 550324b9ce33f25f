// Loads a manifest with fromManifest, starts, switches through every mode (compressing a payload in each, so
// the zstd worker pool really runs), stops and closes the manager, then prints "closed" and returns: whatever
// of the library is still alive after close() keeps the process from exiting, which is what
// tests/e2e/clean_exit_test.ts measures. Plain JavaScript, so Node runs it on the built package.
// Usage: <runtime> clean_exit.mjs <library module URL> <manifest path>
import process from "node:process";

const [library, manifest] = process.argv.slice(2);
const { fromManifest, MODES, silentLogger } = await import(library);
const manager = await fromManifest(manifest, { nodeId: "clean-exit", logger: silentLogger });
const failed = manager.getStats().plugins.filter((record) => record.state !== "loaded");
if (failed.length > 0) throw new Error(`plugins did not load: ${JSON.stringify(failed)}`);
await manager.start();
const payload = new TextEncoder().encode(JSON.stringify(Array.from({ length: 4000 }, (_, i) => ({ i, even: i % 2 }))));
for (const mode of MODES) {
  await manager.forceMode(mode, "clean exit test");
  const compressor = manager.getComponent("compression");
  const frame = await compressor.compress(payload);
  const back = await compressor.decompress(frame);
  if (back.length !== payload.length) throw new Error(`${mode}: the payload did not survive compression`);
}
await manager.stop();
await manager.close();
console.log("closed");
