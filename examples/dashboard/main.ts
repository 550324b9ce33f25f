/**
 * A node with the admin endpoint and its dashboard, fed by a replayed network
 * that cycles rack → WAN → metro every 45 s. Open the printed URL.
 *
 * Run: `deno task dashboard` (the token is $SWITCHYARD_TOKEN, or a fresh one printed here).
 *
 * @module
 */
import { env } from "node:process";
import { fromManifest } from "@switchyard/hybrid";

env.SWITCHYARD_TOKEN ??= crypto.randomUUID().replaceAll("-", "");
const manager = await fromManifest(new URL("./manifest.json", import.meta.url), {
  nodeId: "dashboard-demo",
  config: { detectionIntervalMs: 500, sampleWindow: 3, cooldownMs: 2_000 },
});
await manager.start();
const adminPlugin = manager.getStats().plugins.find((plugin) => plugin.id === "admin-http");
if (adminPlugin?.state !== "loaded") throw new Error(`admin-http did not load: ${adminPlugin?.reason}`);
console.log("dashboard: http://127.0.0.1:7070/");
console.log(`token:     ${env.SWITCHYARD_TOKEN}`);
console.log(`try:       curl -H "Authorization: Bearer ${env.SWITCHYARD_TOKEN}" http://127.0.0.1:7070/status`);
console.log("Ctrl-C to stop.");
