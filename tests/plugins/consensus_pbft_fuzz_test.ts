/**
 * Fuzzing a PBFT replica: 100,000 frames that are random bytes, real frames
 * with bits flipped, truncated or padded, oversized, or real messages from a
 * stranger, a wrong signer or an old view. None may crash the replica or
 * change its state: view, sequences, checkpoint, service state and durable
 * records stay as they were.
 */
import assert from "node:assert/strict";
import { seededRandom } from "../../core/util/random.ts";
import { decodeMessages, encodeMessages } from "../../plugins/consensus-pbft/codec.ts";
import type { Message, MessageBody } from "../../plugins/consensus-pbft/types.ts";
import { PbftTestCluster } from "../support/pbft_cluster.ts";
import { signRequest } from "../support/pbft_fakes.ts";

const FRAMES = 100_000;

function snapshotOf(cluster: PbftTestCluster, id: string) {
  const { machine, service, disk } = cluster.replica(id);
  return {
    view: machine.view,
    viewChanging: machine.viewChanging,
    executed: machine.executed,
    stable: machine.stable.sequence,
    service: [...service.snapshot()],
    records: disk.persisted.length,
  };
}

Deno.test("pbft fuzz: 100,000 malformed, oversized, forged and stale frames neither crash a replica nor change it", () => {
  const cluster = new PbftTestCluster({ config: { checkpointInterval: 4, windowSize: 8, maxInflightBatches: 1 } });
  const client = "key:fuzz-client";
  const signer = cluster.keys.signer(client);
  // Real traffic first, captured to mutate and replay.
  const captured: MessageBody[] = [];
  for (let i = 1; i <= 6; i++) {
    cluster.submit(signRequest(signer, client, i, [{ op: "put", key: "k", value: String(i) }]));
    for (const message of cluster.inFlight) captured.push(...decodeMessages(message.frame));
    cluster.deliver();
  }
  const target = "r2";
  const before = snapshotOf(cluster, target);
  const replica = cluster.replica(target).machine;
  const random = seededRandom(2024);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random.next() * items.length)];
  const senders = ["r0", "r1", "r3", "evil", "key:someone", ""];
  let decoded = 0;
  for (let i = 0; i < FRAMES; i++) {
    const kind = random.next();
    let frame: Uint8Array;
    if (kind < 0.25) {
      frame = Uint8Array.from({ length: Math.floor(random.next() * 300) }, () => Math.floor(random.next() * 256));
      if (random.next() < 0.5 && frame.length > 0) frame[0] = 1; // the right version byte, garbage after
    } else if (kind < 0.6) {
      frame = encodeMessages([pick(captured)]);
      const flips = 1 + Math.floor(random.next() * 6);
      for (let f = 0; f < flips; f++) {
        frame[Math.floor(random.next() * frame.length)] ^= 1 << Math.floor(random.next() * 8);
      }
    } else if (kind < 0.7) {
      const real = encodeMessages([pick(captured)]);
      const cut = Math.floor(random.next() * real.length);
      frame = random.next() < 0.5 ? real.subarray(0, cut) : Uint8Array.from([...real, ...new Uint8Array(cut % 17)]);
    } else if (kind < 0.75) {
      // Counts that claim far more items than the frame holds.
      frame = new Uint8Array(64);
      new DataView(frame.buffer).setUint32(1, 0xffffffff);
      frame[0] = 1;
      frame[5] = Math.floor(random.next() * 11);
      new DataView(frame.buffer).setUint32(6 + Math.floor(random.next() * 40), 0xfffffff0);
    } else {
      // A real message, replayed, from someone who may not be its author.
      frame = encodeMessages([pick(captured)]);
    }
    let bodies: MessageBody[];
    try {
      bodies = decodeMessages(frame);
    } catch (error) {
      assert.equal((error as { code?: string }).code, "FRAME_INVALID", String(error));
      continue;
    }
    decoded++;
    for (const body of bodies) replica.step({ ...body, from: pick(senders) } as Message);
    replica.ready();
  }
  assert.ok(decoded > FRAMES / 5, `${decoded} frames decoded and stepped`);
  const after = snapshotOf(cluster, target);
  assert.deepEqual(after, before);
  const rejected = replica.stats().rejected;
  assert.ok(Object.keys(rejected).length > 0, "refusals are counted");
  // Still a working replica.
  cluster.submit(signRequest(signer, client, 7, [{ op: "put", key: "k", value: "7" }]));
  cluster.deliver();
  assert.equal(cluster.replica(target).service.values.get("k"), "7");
});
