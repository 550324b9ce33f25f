import { runCompliance } from "../../testing.ts";
import { pluginCompliance } from "../compliance/plugin.ts";
import compressNone from "../../plugins/compress-none/mod.ts";
import probeReplay from "../../plugins/probe-replay/mod.ts";

runCompliance("compress-none", pluginCompliance(compressNone));
runCompliance(
  "probe-replay",
  pluginCompliance(probeReplay, { steps: [{ durationMs: 1_000, rttMs: 2, bandwidthMbps: 900, lossRatio: 0 }] }),
);
