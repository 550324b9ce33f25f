/** consensus-pbft against the consensus compliance suite and the plugin suite. */
import { ManualClock } from "../../core/util/clock.ts";
import consensusPbft from "../../plugins/consensus-pbft/mod.ts";
import { MemoryNetwork } from "../../plugins/transport-memory/mod.ts";
import { runCompliance } from "../../testing/mod.ts";
import { consensusCompliance } from "../../testing/consensus.ts";
import { pluginCompliance } from "../../testing/plugin.ts";
import { pbftHarness, testIdentities, testReplicaSecret } from "../support/pbft_consensus_cluster.ts";

runCompliance("consensus-pbft", consensusCompliance(pbftHarness));

const identities = await testIdentities(["n1"]);
runCompliance(
  "consensus-pbft (plugin)",
  pluginCompliance(consensusPbft, {
    nodeId: "n1",
    peers: { n1: "pbft-n1" },
    identities,
    secret: Buffer.from(testReplicaSecret("n1")).toString("hex"),
  }, {
    provided: { transport: new MemoryNetwork({ clock: new ManualClock(), seed: 1 }).transport("pbft-n1") },
  }),
);
