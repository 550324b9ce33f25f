import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { discardEpochDirs, epochDir } from "../../plugins/consensus-adaptive/epoch_dirs.ts";
import { bytesResultCodec, type ConsensusStateMachine, ModeTally, resolveConfig } from "../../mod.ts";
import { DeduplicatingStateMachine, encodeClientCommand } from "../../plugins/consensus-kit/mod.ts";
import { encodeEntry } from "../../plugins/consensus-adaptive/entries.ts";
import {
  type EngineName,
  EpochMachine,
  type EpochMachineOptions,
  type EpochResult,
} from "../../plugins/consensus-adaptive/epoch_machine.ts";
import type { LogPosition } from "../../core/contracts/consensus.ts";
import type { NetworkSample } from "../../core/contracts/sample.ts";

const MEMBERS = ["a", "b", "c", "d"];
const WAN: NetworkSample = { rttMs: 120, bandwidthMbps: 40, lossRatio: 0.02 };
const RACK: NetworkSample = { rttMs: 0.3, bandwidthMbps: 20_000, lossRatio: 0 };
const engineFor = (mode: string): EngineName => mode === "datacenter" ? "raft" : "pbft";

/** An append-only log of strings; `apply` returns the whole log so far as bytes. */
class Log implements ConsensusStateMachine<Uint8Array> {
  entries: string[] = [];
  /** The positions the application was given (not part of its state). */
  positions: LogPosition[] = [];
  readonly resultCodec = bytesResultCodec;
  apply(command: Uint8Array, position: LogPosition): Uint8Array {
    this.positions.push(position);
    this.entries.push(new TextDecoder().decode(command));
    return new TextEncoder().encode(this.entries.join(","));
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.entries));
  }
  restore(snapshot: Uint8Array): void {
    this.entries = JSON.parse(new TextDecoder().decode(snapshot));
  }
}

function epoch(number = 0, engine: EngineName = "raft", options: Partial<EpochMachineOptions<Uint8Array>> = {}) {
  const log = new Log();
  const app = new DeduplicatingStateMachine(log);
  const tally = new ModeTally({ members: MEMBERS, faultTolerance: 1, thresholds: resolveConfig({}), cooldownMs: 0 });
  return { log, machine: new EpochMachine({ epoch: number, engine, engineFor, app, tally, ...options }) };
}
const command = (text: string, clientId = "c1", sequence = 1) =>
  encodeEntry({
    kind: "command",
    bytes: encodeClientCommand(new TextEncoder().encode(text), { clientId, sequence }),
  });
const report = (member: string, atMs: number, summary: NetworkSample) =>
  encodeEntry({ kind: "report", member, atMs, summary });

function applyAll(machine: EpochMachine<Uint8Array>, entries: Uint8Array[], first = 1): EpochResult<Uint8Array>[] {
  return entries.map((entry, i) => machine.apply(entry, { index: first + i, term: 1 }));
}

Deno.test("epoch machine: commands apply through the carried client table; reports go to the tally", () => {
  const { log, machine } = epoch();
  const [first, retry, other, measured] = applyAll(machine, [
    command("x", "c1", 1),
    command("x", "c1", 1),
    command("y", "c2", 1),
    report("a", 1_000, RACK),
  ]);
  assert.equal(first.kind, "command");
  assert.ok(first.kind === "command" && first.outcome.ok && !first.outcome.committed.duplicate);
  assert.ok(retry.kind === "command" && retry.outcome.ok && retry.outcome.committed.duplicate, "executed once");
  assert.ok(other.kind === "command" && other.outcome.ok);
  assert.deepEqual(measured, { kind: "recorded" });
  assert.deepEqual(log.entries, ["x", "y"]);
  assert.equal(machine.handover, undefined);
});

Deno.test("epoch machine: the epoch seals at the entry that moved the cluster to another engine; later entries are not applied", () => {
  const { log, machine } = epoch();
  const results = applyAll(machine, [
    command("before"),
    report("a", 1_000, WAN),
    report("b", 1_000, WAN),
    report("c", 1_000, WAN), // index 4: three of four members see a WAN: internet, PBFT
    command("after", "c2", 1),
  ]);
  assert.equal(results[3].kind, "recorded");
  assert.equal(results[3].kind === "recorded" ? results[3].agreed?.mode : undefined, "internet");
  assert.deepEqual(results[4], { kind: "sealed", epoch: 0, sealedAt: 4 });
  assert.deepEqual(log.entries, ["before"]);
  const handover = machine.handover!;
  assert.equal(handover.sealedAt, 4);
  assert.equal(handover.nextBaseIndex, 4);
  assert.equal(handover.next, "pbft");
  // The next epoch starts from the handover state: the same application state, client table and tally.
  const next = epoch(1, "pbft", { baseIndex: handover.nextBaseIndex });
  assert.throws(() => epoch(1, "pbft").machine.restore(handover.state), /does not start epoch 1 at base 0/);
  next.machine.restore(handover.state);
  assert.deepEqual(next.log.entries, ["before"]);
  assert.equal(next.machine.handover, undefined, "the new epoch starts unsealed");
  const [retried, again] = applyAll(next.machine, [command("before"), command("after", "c2", 1)]);
  assert.ok(retried.kind === "command" && retried.outcome.ok && retried.outcome.committed.duplicate, "not twice");
  assert.ok(again.kind === "command" && again.outcome.ok && !again.outcome.committed.duplicate);
  assert.deepEqual(next.log.entries, ["before", "after"]);
  assert.deepEqual(next.log.positions.map((position) => position.index), [6], "indices go on from the seal");
});

Deno.test("epoch machine: the seal is announced once; a retired epoch leaves the shared machines alone", () => {
  const { log, machine } = epoch();
  const seen: number[] = [];
  machine.onSealed = (handover) => seen.push(handover.sealedAt);
  applyAll(machine, [command("w1"), report("a", 1_000, WAN), report("b", 1_000, WAN), report("c", 1_000, WAN)]);
  applyAll(machine, [report("d", 1_000, WAN), command("w2", "c1", 2)], 5);
  assert.deepEqual(seen, [4]);
  const unsealed = epoch();
  applyAll(unsealed.machine, [command("u1")]);
  unsealed.machine.retire();
  assert.equal(unsealed.machine.apply(command("u2", "c1", 2), { index: 2, term: 1 }).kind, "sealed");
  assert.deepEqual(unsealed.log.entries, ["u1"], "a retired epoch, sealed or not, applies nothing more");
  const sealedState = machine.handover!.state;
  machine.retire();
  log.entries.push("the next epoch's work");
  machine.restore(sealedState);
  assert.deepEqual(log.entries, ["w1", "the next epoch's work"], "restore of a retired epoch changes nothing");
  assert.deepEqual(machine.snapshot(), sealedState);
});

Deno.test("epoch machine: with authenticated proposers a member's report counts only from that member", () => {
  const { machine } = epoch(0, "pbft", { authenticatedProposers: true });
  const forged = machine.apply(report("a", 1_000, RACK), { index: 1, term: 0, proposer: "b" });
  assert.equal(forged.kind, "invalid");
  const unnamed = machine.apply(report("a", 1_000, RACK), { index: 2, term: 0 });
  assert.equal(unnamed.kind, "invalid");
  const own = machine.apply(report("a", 1_000, RACK), { index: 3, term: 0, proposer: "a" });
  assert.deepEqual(own, { kind: "recorded" });
  const trusted = epoch(0, "raft").machine.apply(report("a", 1_000, RACK), { index: 1, term: 1 });
  assert.deepEqual(trusted, { kind: "recorded" }, "members are trusted without the option (Raft)");
});

Deno.test("epoch machine: a change the current engine serves does not seal; garbage answers invalid and changes nothing", () => {
  const { machine } = epoch(0, "pbft");
  const results = applyAll(machine, [
    report("a", 1_000, { rttMs: 30, bandwidthMbps: 5_000, lossRatio: 0 }),
    report("b", 1_000, { rttMs: 30, bandwidthMbps: 5_000, lossRatio: 0 }),
    report("c", 1_000, { rttMs: 30, bandwidthMbps: 5_000, lossRatio: 0 }),
    Uint8Array.of(2, 0),
  ]);
  assert.equal(results[2].kind === "recorded" ? results[2].agreed?.mode : undefined, "hybrid");
  assert.equal(machine.handover, undefined, "hybrid runs on PBFT here: no new epoch");
  assert.equal(results[3].kind, "invalid");
});

Deno.test("epoch machine: replicas fed the same entries seal at the same index with the same bytes, a restored one too", () => {
  const entries = [command("w1"), report("a", 1, RACK), command("w2", "c1", 2)];
  for (const member of ["a", "b", "c"]) entries.push(report(member, 2_000, WAN));
  entries.push(command("w3", "c1", 3));
  const one = epoch();
  applyAll(one.machine, entries);
  const two = epoch();
  applyAll(two.machine, entries.slice(0, 3));
  const restored = epoch();
  restored.machine.restore(two.machine.snapshot());
  applyAll(restored.machine, entries.slice(3), 4);
  assert.equal(one.machine.handover?.sealedAt, 6);
  assert.equal(restored.machine.handover?.sealedAt, 6);
  assert.deepEqual(restored.machine.handover?.state, one.machine.handover?.state);
  // A snapshot taken after the seal restores sealed.
  const again = epoch();
  again.machine.restore(one.machine.snapshot());
  assert.equal(again.machine.handover?.sealedAt, 6);
  assert.equal(again.machine.apply(command("w4", "c1", 4), { index: 8, term: 1 }).kind, "sealed");
});

Deno.test("epoch machine: results survive their codec, byte results and errors included", () => {
  const { machine } = epoch();
  const codec = machine.resultCodec;
  const results = applyAll(machine, [command("x"), command("y", "c9", 3), report("a", 1, RACK)]);
  for (const result of results) {
    const decoded = codec.decode(codec.encode(result));
    if (result.kind === "command" && !result.outcome.ok) {
      assert.ok(decoded.kind === "command" && !decoded.outcome.ok);
      assert.equal((decoded.outcome.error as { code?: string }).code, (result.outcome.error as { code?: string }).code);
    } else {
      assert.deepEqual(decoded, result);
    }
  }
  assert.ok(
    results[1].kind === "command" && !results[1].outcome.ok,
    "a client the table does not know, past sequence 1, fails (UNKNOWN_CLIENT)",
  );
});

Deno.test("epoch machine: restored into a sealed state (a state transfer, a snapshot install), it announces the seal", async () => {
  const sealedOne = epoch();
  applyAll(sealedOne.machine, [
    command("w1"),
    report("a", 1_000, WAN),
    report("b", 1_000, WAN),
    report("c", 1_000, WAN),
  ]);
  const sealedSnapshot = sealedOne.machine.snapshot();
  const behind = epoch();
  const seen: number[] = [];
  behind.machine.onSealed = (handover) => seen.push(handover.sealedAt);
  behind.machine.restore(sealedSnapshot);
  assert.deepEqual(seen, [], "announced after the restore returns, not inside it");
  await Promise.resolve();
  assert.deepEqual(seen, [4]);
  assert.equal(behind.machine.handover?.nextBaseIndex, 4);
});

Deno.test("epoch dirs: the logs of the epochs below one go; nothing else in the data directory is touched", async () => {
  const dir = await mkdtemp(join(tmpdir(), "switchyard-epochs-"));
  try {
    for (const epoch of [0, 1, 2, 3, 10]) await mkdir(epochDir(dir, epoch), { recursive: true });
    await writeFile(join(dir, "handover"), "kept");
    await writeFile(join(dir, "epoch-9"), "a file, not an epoch's log");
    assert.deepEqual(await discardEpochDirs(dir, 3), [0, 1, 2]);
    assert.deepEqual((await readdir(dir)).sort(), ["epoch-10", "epoch-3", "epoch-9", "handover"]);
    assert.deepEqual(await discardEpochDirs(dir, 3), [], "again: nothing left to remove");
    assert.deepEqual(await discardEpochDirs(join(dir, "missing"), 5), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
