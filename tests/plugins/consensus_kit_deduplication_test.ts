import assert from "node:assert/strict";
import { ClientTable, DeduplicatingStateMachine } from "../../plugins/consensus-kit/mod.ts";
import {
  bytesResultCodec,
  type ConsensusStateMachine,
  jsonResultCodec,
  type LogPosition,
  SwitchyardError,
  ValidationError,
} from "../../mod.ts";
import { decodeClientCommand, encodeClientCommand, encodeProposal } from "../../plugins/consensus-kit/mod.ts";
import { seededRandom } from "../../core/util/random.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Appends each command to a string; `apply` returns the string before. Double application is visible. */
class AppendMachine implements ConsensusStateMachine<string> {
  text = "";
  applied = 0;
  apply(command: Uint8Array): string {
    const before = this.text;
    const piece = decoder.decode(command);
    if (piece === "throw") throw new Error("bad command");
    this.text += piece;
    this.applied++;
    return before;
  }
  snapshot(): Uint8Array {
    return encoder.encode(this.text);
  }
  restore(snapshot: Uint8Array): void {
    this.text = decoder.decode(snapshot);
  }
}

function entry(text: string, clientId?: string, sequence?: number): Uint8Array {
  return encodeProposal(encoder.encode(text), clientId === undefined ? undefined : { clientId, sequence });
}

/** Applies entries at growing indices. */
function applier<R>(machine: DeduplicatingStateMachine<R>) {
  let index = 0;
  return (data: Uint8Array) => machine.apply(data, { index: ++index, term: 1 });
}

function errorCode(outcome: { ok: boolean; error?: Error }): string | undefined {
  return outcome.ok ? undefined : (outcome.error as SwitchyardError).code;
}

Deno.test("client command: the identity round-trips; bytes without the marker are a command without identity", () => {
  const command = encoder.encode("put x 1");
  const decoded = decodeClientCommand(encodeClientCommand(command, { clientId: "client-é", sequence: 2 ** 40 }));
  assert.deepEqual(decoded.request, { clientId: "client-é", sequence: 2 ** 40 });
  assert.deepEqual(decoded.command, command);
  const anonymous = decodeClientCommand(encodeClientCommand(command));
  assert.equal(anonymous.request, undefined);
  assert.deepEqual(anonymous.command, command);
  // A command written before identities existed (raw bytes in an old log) is still read as itself.
  assert.deepEqual(decodeClientCommand(command), { command });
  // An anonymous command that happens to start like the envelope is still wrapped, so never misread.
  const lookalike = new Uint8Array([0xff, 0x43, 1, 1, 0, 0]);
  assert.deepEqual(decodeClientCommand(encodeClientCommand(lookalike)).command, lookalike);
});

Deno.test("client command: damaged envelopes are refused with FRAME_INVALID", () => {
  const good = encodeClientCommand(encoder.encode("c"), { clientId: "c1", sequence: 1 });
  const cases: [string, Uint8Array][] = [
    ["format", new Uint8Array([0xff, 0x43, 9, 0])],
    ["flags", new Uint8Array([0xff, 0x43, 1, 7])],
    ["truncated", good.subarray(0, 10)],
    [
      "sequence",
      (() => {
        const bytes = good.slice();
        new DataView(bytes.buffer).setFloat64(4 + 2 + 2, 0.5);
        return bytes;
      })(),
    ],
  ];
  for (const [what, bytes] of cases) {
    assert.throws(
      () => decodeClientCommand(bytes),
      (error) => error instanceof SwitchyardError && error.code === "FRAME_INVALID",
      what,
    );
  }
});

Deno.test("client identity: bad fields are refused with INVALID_ARGUMENT naming the field", () => {
  const command = new Uint8Array([1]);
  const cases: [Record<string, unknown>, string][] = [
    [{ clientId: "", sequence: 1 }, "options.clientId"],
    [{ clientId: "x".repeat(129), sequence: 1 }, "options.clientId"],
    [{ clientId: 7, sequence: 1 }, "options.clientId"],
    [{ clientId: "c", sequence: 0 }, "options.sequence"],
    [{ clientId: "c", sequence: 1.5 }, "options.sequence"],
    [{ clientId: "c", sequence: 2 ** 53 }, "options.sequence"],
    [{ clientId: "c" }, "options.sequence"],
    [{ sequence: 3 }, "options.clientId"],
  ];
  for (const [options, path] of cases) {
    assert.throws(
      () => encodeProposal(command, options),
      (error) =>
        error instanceof ValidationError && error.code === "INVALID_ARGUMENT" &&
        error.issues.some((issue) => issue.path === path),
      JSON.stringify(options),
    );
  }
  assert.equal(decodeClientCommand(encodeProposal(command, { timeoutMs: 5 })).request, undefined);
});

Deno.test("deduplication: a repeated sequence is answered from the table, not applied again", () => {
  const app = new AppendMachine();
  const machine = new DeduplicatingStateMachine(app);
  const apply = applier(machine);
  const first = apply(entry("a", "c1", 1));
  assert.deepEqual(first, { ok: true, committed: { index: 1, term: 1, result: "" } });
  apply(entry("b", "c2", 1));
  const retry = apply(entry("a", "c1", 1));
  assert.deepEqual(retry, { ok: true, committed: { index: 1, term: 1, result: "", duplicate: true } });
  assert.equal(app.text, "ab");
  assert.deepEqual(apply(entry("c", "c1", 5)), { ok: true, committed: { index: 4, term: 1, result: "ab" } });
  assert.equal(errorCode(apply(entry("a", "c1", 1))), "STALE_REQUEST");
  assert.equal(errorCode(apply(entry("z", "c3", 2))), "UNKNOWN_CLIENT");
  // Commands without an identity are never deduplicated.
  apply(entry("n"));
  apply(entry("n"));
  assert.equal(app.text, "abcnn");
  assert.deepEqual(
    { ...machine.stats(), cachedBytes: 0 },
    {
      clients: 2,
      cachedBytes: 0,
      evictedClients: 0,
      duplicates: 1,
      staleRequests: 1,
      unknownClients: 1,
      failedCommands: 0,
    },
  );
});

Deno.test("deduplication: the table travels in the snapshot; a restored replica answers the duplicate the same way", () => {
  const original = new DeduplicatingStateMachine(new AppendMachine());
  const apply = applier(original);
  apply(entry("a", "c1", 1));
  apply(entry("b", "c2", 3 - 2));
  apply(entry("c", "c2", 2));
  const snapshot = original.snapshot();
  const app = new AppendMachine();
  const restored = new DeduplicatingStateMachine(app);
  restored.restore(snapshot);
  assert.equal(app.text, "abc");
  const retry = restored.apply(entry("a", "c1", 1), { index: 10, term: 2 });
  assert.deepEqual(retry, { ok: true, committed: { index: 1, term: 1, result: "", duplicate: true } });
  assert.equal(errorCode(restored.apply(entry("b", "c2", 1), { index: 11, term: 2 })), "STALE_REQUEST");
  assert.equal(app.text, "abc");
  assert.deepEqual(restored.snapshot().subarray(0, 3), new Uint8Array([0xff, 0x53, 1]));
  // A snapshot from before the envelope (the application's bytes alone) restores with an empty table.
  restored.restore(encoder.encode("legacy"));
  assert.equal(app.text, "legacy");
  assert.equal(restored.stats().clients, 0);
});

Deno.test("deduplication: damaged snapshot envelopes are refused before anything changes", () => {
  const app = new AppendMachine();
  const machine = new DeduplicatingStateMachine(app);
  applier(machine)(entry("a", "c1", 1));
  const good = machine.snapshot();
  const tableLength = new DataView(good.buffer).getUint32(3);
  const badLength = good.slice();
  new DataView(badLength.buffer).setUint32(3, good.byteLength);
  const badIndex = good.slice();
  new DataView(badIndex.buffer).setFloat64(7 + 5 + 2 + 2 + 8, -1); // client c1's index
  for (const bytes of [badLength, badIndex, good.subarray(0, 7 + tableLength - 1), new Uint8Array([0xff, 0x53, 4])]) {
    assert.throws(
      () => machine.restore(bytes),
      (error) => error instanceof SwitchyardError && error.code === "FRAME_INVALID",
    );
  }
  assert.equal(app.text, "a");
  assert.equal(machine.stats().clients, 1);
});

Deno.test("deduplication: eviction is bounded and the same on every replica; an evicted client is refused", () => {
  const random = seededRandom(11);
  const log: Uint8Array[] = [];
  const sequences = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const clientId = `c${Math.floor(random.next() * 40)}`;
    const sequence = (sequences.get(clientId) ?? 0) + 1;
    sequences.set(clientId, sequence);
    log.push(entry(`${i},`, clientId, sequence));
  }
  const replicas = [0, 1].map(() => new DeduplicatingStateMachine(new AppendMachine(), { maxClients: 8 }));
  let restored: DeduplicatingStateMachine<string> | undefined;
  for (const [i, data] of log.entries()) {
    for (const replica of replicas) replica.apply(data, { index: i + 1, term: 1 });
    assert.ok(replicas[0].stats().clients <= 8);
    if (i === 200) {
      restored = new DeduplicatingStateMachine(new AppendMachine(), { maxClients: 8 });
      restored.restore(replicas[0].snapshot());
    } else if (restored) restored.apply(data, { index: i + 1, term: 1 });
  }
  const [a, b] = replicas.map((replica) => replica.snapshot());
  assert.deepEqual(a, b, "every replica holds the same table");
  assert.deepEqual(restored!.snapshot(), a, "so does one restored from a snapshot half way");
  assert.equal(replicas[0].stats().clients, 8);
  assert.ok(replicas[0].stats().evictedClients > 0);
  // The rule, as a list: executing moves a client to the end; a client past the cap leaves from the front.
  const model: string[] = [];
  for (const data of log) {
    const { clientId, sequence } = decodeClientCommand(data).request!;
    const at = model.indexOf(clientId);
    if (at >= 0) model.splice(at, 1);
    else if (sequence !== 1) continue; // refused: UNKNOWN_CLIENT
    model.push(clientId);
    if (model.length > 8) model.shift();
  }
  for (const clientId of model) assert.ok(replicas[0].client(clientId), clientId);
  const order = model.map((clientId) => replicas[0].client(clientId)!.index);
  assert.deepEqual(order, [...order].sort((x, y) => x - y), "kept in order of their latest log index");
  // Any other client that executed before is refused, not re-applied.
  const evicted = [...sequences.keys()].find((clientId) => !model.includes(clientId) && sequences.get(clientId)! > 1)!;
  const before = (replicas[0].machine as AppendMachine).text;
  const late = replicas[0].apply(entry("late", evicted, sequences.get(evicted)!), { index: 1000, term: 1 });
  assert.equal(errorCode(late), "UNKNOWN_CLIENT");
  assert.equal((replicas[0].machine as AppendMachine).text, before);
});

Deno.test("deduplication: the cached bytes are bounded too, evicting the least recently active", () => {
  const machine = new DeduplicatingStateMachine<string>(
    { apply: (command) => decoder.decode(command), snapshot: () => new Uint8Array(), restore() {} },
    { maxCachedBytes: 1000 },
  );
  const apply = applier(machine);
  for (let i = 0; i < 10; i++) apply(entry("x".repeat(200), `c${i}`, 1));
  assert.ok(machine.stats().cachedBytes <= 1000, `${machine.stats().cachedBytes}`);
  assert.equal(machine.stats().clients, 3); // (48 + 2 + 202) bytes each
  assert.equal(machine.client("c6"), undefined);
  assert.ok(machine.client("c9"));
});

Deno.test("deduplication: a result the codec refuses, or an apply that throws, executes once and is never re-run", () => {
  const app = {
    applied: 0,
    apply(command: Uint8Array) {
      this.applied++;
      if (command[0] === 1) throw new Error("bad command");
      return new Map([["a", 1]]);
    },
    snapshot: () => new Uint8Array(),
    restore() {},
  };
  const machine = new DeduplicatingStateMachine<Map<string, number>>(app);
  const apply = applier(machine);
  const unencodable = apply(encodeProposal(new Uint8Array([0]), { clientId: "c1", sequence: 1 }));
  assert.equal(errorCode(unencodable), "RESULT_UNAVAILABLE");
  assert.match((unencodable as { error: Error }).error.message, /executed at index 1.*result is a Map/);
  assert.equal(
    errorCode(apply(encodeProposal(new Uint8Array([0]), { clientId: "c1", sequence: 1 }))),
    "RESULT_UNAVAILABLE",
  );
  const threw = apply(encodeProposal(new Uint8Array([1]), { clientId: "c2", sequence: 1 }));
  assert.equal((threw as { error: Error }).error.message, "bad command");
  const again = apply(encodeProposal(new Uint8Array([1]), { clientId: "c2", sequence: 1 }));
  assert.equal(errorCode(again), "RESULT_UNAVAILABLE");
  assert.match((again as { error: Error }).error.message, /apply threw: Error: bad command/);
  assert.equal(app.applied, 2);
  assert.equal(machine.stats().failedCommands, 2);
  // Anonymous commands with such results are fine: nothing is cached for them.
  assert.equal(apply(encodeProposal(new Uint8Array([0]), undefined)).ok, true);
});

Deno.test("result codecs: JSON values round-trip; what JSON would change is refused naming its path", () => {
  for (const value of [undefined, null, 0, -1.5, "s", true, [1, "a", null], { a: { b: [1] } }]) {
    assert.deepEqual(jsonResultCodec.decode(jsonResultCodec.encode(value)), value);
  }
  const refused: [unknown, RegExp][] = [
    [() => 1, /^result is a function/],
    [1n, /^result is a bigint/],
    [NaN, /^result is NaN/],
    [{ a: [1, new Date(0)] }, /^result\.a\[1\] is a Date/],
    [{ a: undefined }, /^result\.a is a undefined/],
    [[1, , 2], /^result\[1\] is a hole/],
  ];
  for (const [value, message] of refused) {
    assert.throws(
      () => jsonResultCodec.encode(value),
      (error) => error instanceof SwitchyardError && error.code === "INVALID_ARGUMENT" && message.test(error.message),
    );
  }
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => jsonResultCodec.encode(circular), /result\.self is a circular reference/);
  const bytes = new Uint8Array([1, 2, 3]);
  assert.deepEqual(bytesResultCodec.decode(bytesResultCodec.encode(bytes)), bytes);
  assert.throws(() => bytesResultCodec.encode("no" as unknown as Uint8Array), /not a Uint8Array/);
});

Deno.test("client table: positions must grow and limits must be positive integers", () => {
  const table = new ClientTable();
  const position: LogPosition = { index: 3, term: 1 };
  table.record({ clientId: "a", sequence: 1 }, position, { ok: true, result: new Uint8Array() });
  assert.throws(() => table.record({ clientId: "b", sequence: 1 }, position, { ok: true, result: new Uint8Array() }));
  assert.throws(() => new ClientTable({ maxClients: 0 }), /maxClients must be a positive integer/);
  assert.deepEqual(ClientTable.decode(table.encode()).get("a"), {
    clientId: "a",
    sequence: 1,
    index: 3,
    term: 1,
    outcome: { ok: true, result: new Uint8Array() },
  });
});

Deno.test("deduplication: applyRequest serves engines that carry the identity themselves, with the same rules", () => {
  const app = new AppendMachine();
  const machine = new DeduplicatingStateMachine(app);
  const request = { clientId: "signed-client", sequence: 1 };
  assert.deepEqual(machine.applyRequest(encoder.encode("a"), request, { index: 1, term: 0 }), {
    ok: true,
    committed: { index: 1, term: 0, result: "" },
  });
  const again = machine.applyRequest(encoder.encode("a"), request, { index: 2, term: 0 });
  assert.deepEqual(again, { ok: true, committed: { index: 1, term: 0, result: "", duplicate: true } });
  assert.equal(machine.client("signed-client")?.sequence, 1);
  assert.equal(app.text, "a");
});
