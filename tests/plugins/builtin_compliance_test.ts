import { runCompliance } from "../../testing/mod.ts";
import { pluginCompliance } from "../../testing/plugin.ts";
import { consensusCompliance } from "../../testing/consensus.ts";
import { raftHarness, TEST_CLUSTER_KEY } from "../support/raft_cluster.ts";
import consensusRaft from "../../plugins/consensus-raft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { ManualClock } from "../../core/util/clock.ts";
import compressAdaptive from "../../plugins/compress-adaptive/mod.ts";
import compressLz4 from "../../plugins/compress-lz4/mod.ts";
import compressNone from "../../plugins/compress-none/mod.ts";
import compressZstd from "../../plugins/compress-zstd/mod.ts";
import probeReplay from "../../plugins/probe-replay/mod.ts";
import { nativeZstd } from "../../plugins/compress-zstd/engines.ts";

runCompliance("compress-none", pluginCompliance(compressNone));
runCompliance("compress-lz4", pluginCompliance(compressLz4));
runCompliance("compress-zstd (level 3, wasm)", pluginCompliance(compressZstd, { level: 3, engine: "wasm" }));
runCompliance(
  "compress-zstd (max level, wasm, worker pool)",
  pluginCompliance(compressZstd, { level: "max", engine: "wasm", offloadFromLevel: 10 }),
);
if (nativeZstd()) {
  runCompliance("compress-zstd (level 3, native)", pluginCompliance(compressZstd, { level: 3, engine: "native" }));
  runCompliance(
    "compress-zstd (level 19, native, thread pool)",
    pluginCompliance(compressZstd, { level: 19, engine: "native" }),
  );
} else {
  Deno.test({ name: "compress-zstd (native): skipped, this runtime's node:zlib has no zstd", ignore: true, fn() {} });
}
runCompliance(
  "compress-adaptive",
  pluginCompliance(compressAdaptive, { candidates: ["none", "lz4", "zstd-1", "zstd-3"] }),
);
runCompliance(
  "probe-replay",
  pluginCompliance(probeReplay, { steps: [{ durationMs: 1_000, rttMs: 2, bandwidthMbps: 900, lossRatio: 0 }] }),
);

runCompliance("consensus-raft", consensusCompliance(raftHarness));
runCompliance(
  "consensus-raft (plugin)",
  pluginCompliance(consensusRaft, { nodeId: "n1", peers: { n1: "raft-n1" }, clusterKey: TEST_CLUSTER_KEY }, {
    provided: { transport: new MemoryNetwork({ clock: new ManualClock(), seed: 1 }).transport("raft-n1") },
  }),
);
