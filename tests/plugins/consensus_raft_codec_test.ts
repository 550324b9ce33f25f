import assert from "node:assert/strict";
import { SwitchyardError } from "../../core/util/errors.ts";
import { decodeMessages, encodeMessages } from "../../plugins/consensus-raft/codec.ts";
import type { Entry, Message } from "../../plugins/consensus-raft/types.ts";

const encoder = new TextEncoder();
const membership = (data: unknown): Entry => ({
  index: 5,
  term: 2,
  kind: "membership",
  data: encoder.encode(JSON.stringify(data)),
});

const GOOD: Message[] = [
  { type: "preVote", from: "n1", to: "n2", term: 3, lastIndex: 7, lastTerm: 2, force: false },
  { type: "vote", from: "n1", to: "n2", term: 3, lastIndex: 7, lastTerm: 2, force: true },
  { type: "preVoteResp", from: "n1", to: "n2", term: 3, granted: true },
  { type: "voteResp", from: "n1", to: "n2", term: 3, granted: false },
  {
    type: "append",
    from: "n1",
    to: "n2",
    term: 3,
    prevIndex: 4,
    prevTerm: 2,
    commit: 4,
    entries: [
      membership({ members: ["n1", "n2", "n3"], addresses: { n3: "raft-n3" } }),
      { index: 6, term: 3, kind: "noop", data: new Uint8Array() },
      { index: 7, term: 3, kind: "command", data: encoder.encode("set x 1") },
    ],
  },
  { type: "appendResp", from: "n1", to: "n2", term: 3, index: 7, reject: true, rejectHint: 4 },
  { type: "heartbeat", from: "n1", to: "n2", term: 3, commit: 7, readSeq: 9 },
  { type: "heartbeatResp", from: "n1", to: "n2", term: 3, readSeq: 9 },
  {
    type: "snapshot",
    from: "n1",
    to: "n2",
    term: 3,
    snapshot: { index: 7, term: 3, members: ["n1", "n2"], data: encoder.encode("{}") },
  },
  { type: "timeoutNow", from: "ü-node", to: "n2", term: 3 },
];

/** Asserts the frame is refused with FRAME_INVALID naming `field`. */
function refused(frame: Uint8Array, field: RegExp, why?: RegExp): void {
  assert.throws(
    () => decodeMessages(frame),
    (error) =>
      error instanceof SwitchyardError && error.code === "FRAME_INVALID" && field.test(error.message) &&
      (!why || why.test(error.message)),
  );
}

Deno.test("raft codec: every message type round-trips", () => {
  assert.deepEqual(decodeMessages(encodeMessages(GOOD)), GOOD);
});

Deno.test("raft codec: every numeric field must be a non-negative safe integer, and the error names it", () => {
  const fields: [number, string][] = [];
  for (const [i, message] of GOOD.entries()) {
    for (const [key, value] of Object.entries(message)) if (typeof value === "number") fields.push([i, key]);
  }
  fields.push([4, "entries.1.index"], [4, "entries.2.term"], [8, "snapshot.index"], [8, "snapshot.term"]);
  for (const bad of [Infinity, -Infinity, NaN, -1, 2 ** 53, 1.5]) {
    for (const [i, path] of fields) {
      const message = structuredClone(GOOD[i]) as unknown as Record<string, unknown>;
      const keys = path.split(".");
      let target = message;
      for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
      target[keys.at(-1)!] = bad;
      const field = `messages\\[0\\]\\.${keys.map((key) => /^\d+$/.test(key) ? `\\[${key}\\]` : key).join("\\.")}`;
      refused(
        encodeMessages([message as unknown as Message]),
        new RegExp(field.replaceAll("\\.\\[", "\\[")),
        new RegExp(`${String(bad).replace("+", "\\+")} is not a non-negative safe integer`),
      );
    }
  }
});

Deno.test("raft codec: counts past the bytes left are refused before anything is allocated", () => {
  const frame = encodeMessages([GOOD[4]]);
  const view = new DataView(frame.buffer);
  const huge = frame.slice();
  new DataView(huge.buffer).setUint32(1, 0xffff_ffff);
  refused(huge, /^messages: 4294967295 items cannot fit/);
  // The entry count sits after type, from, to, term, prevIndex, prevTerm, commit.
  const entryCountAt = 1 + 4 + 1 + (4 + 2) + (4 + 2) + 8 * 4;
  assert.equal(view.getUint32(entryCountAt), 3);
  const entries = frame.slice();
  new DataView(entries.buffer).setUint32(entryCountAt, 0x1000_0000);
  refused(entries, /messages\[0\]\.entries: 268435456 items/);
  const members = encodeMessages([GOOD[8]]);
  const membersAt = 1 + 4 + 1 + (4 + 2) + (4 + 2) + 8 + 8 + 8;
  new DataView(members.buffer).setUint32(membersAt, 0x7fff_ffff);
  refused(members, /messages\[0\]\.snapshot\.members: 2147483647 items/);
  refused(frame.subarray(0, frame.byteLength - 3), /messages\[0\]: .*truncated/);
  refused(new Uint8Array([...frame, 0]), /1 trailing bytes/);
});

Deno.test("raft codec: ids, flags, types and kinds must be what the format allows", () => {
  const frame = encodeMessages([GOOD[2]]);
  const typeAt = 5;
  const flagAt = frame.byteLength - 1;
  refused(patch(frame, typeAt, 200), /messages\[0\]\.type: unknown raft message type 200/);
  refused(patch(frame, flagAt, 2), /messages\[0\]\.granted: 2 is not 0 or 1/);
  refused(patch(frame, 6 + 4, 0xff), /messages\[0\]\.from: node id is not UTF-8/); // "n1" -> 0xff "1"
  refused(encodeMessages([{ ...GOOD[2], from: "" }]), /messages\[0\]\.from: node id of 0 bytes/);
  refused(encodeMessages([{ ...GOOD[2], to: "x".repeat(256) }]), /messages\[0\]\.to: node id of 256 bytes/);
  const append = GOOD[4] as Extract<Message, { type: "append" }>;
  const command = encodeMessages([{
    ...append,
    entries: [{ index: 5, term: 3, kind: "command", data: new Uint8Array() }],
  }]);
  const kindAt = command.byteLength - 4 - 1;
  refused(patch(command, kindAt, 9), /messages\[0\]\.entries\[0\]\.kind: unknown entry kind 9/);
});

Deno.test("raft codec: an append's entries must follow prevIndex with terms in order, and their contents must decode", () => {
  const append = GOOD[4] as Extract<Message, { type: "append" }>;
  const withEntries = (entries: Entry[], extra: Partial<typeof append> = {}) =>
    encodeMessages([{ ...append, ...extra, entries }]);
  const command = (index: number, term: number): Entry => ({ index, term, kind: "command", data: new Uint8Array([1]) });
  refused(withEntries([command(6, 3)]), /entries\[0\]\.index: 6 does not follow 4/);
  refused(withEntries([command(5, 3), command(7, 3)]), /entries\[1\]\.index: 7 does not follow 5/);
  refused(withEntries([command(5, 1004)]), /entries\[0\]\.term: 1004 is not in \[2, 3\]/);
  refused(withEntries([command(5, 1)]), /entries\[0\]\.term: 1 is not in \[2, 3\]/);
  refused(withEntries([command(5, 3)], { prevTerm: 4 }), /prevTerm: 4 is past the message's term 3/);
  refused(withEntries([{ index: 5, term: 3, kind: "noop", data: new Uint8Array([0]) }]), /entries\[0\]\.data: a no-op/);
  const bad = [
    [{ index: 5, term: 3, kind: "membership", data: encoder.encode("{") }, /entries\[0\]\.data: not UTF-8 JSON/],
    [{ ...membership({ members: [] }), index: 5 }, /entries\[0\]\.data\.members: /],
    [{ ...membership({ members: ["a", "a"] }), index: 5 }, /entries\[0\]\.data\.members: lists a member twice/],
    [{ ...membership({ members: ["a"], evil: 1 }), index: 5 }, /entries\[0\]\.data/],
    [{ ...membership({ members: [""] }), index: 5 }, /entries\[0\]\.data\.members\.0/],
    [{ ...membership({ members: ["a"], addresses: { a: 7 } }), index: 5 }, /entries\[0\]\.data\.addresses\.a/],
  ] as const;
  for (const [entry, field] of bad) refused(withEntries([entry as Entry]), field);
});

Deno.test("raft codec: votes and snapshots are checked against the message's term", () => {
  refused(encodeMessages([{ ...GOOD[0], lastTerm: 4 } as Message]), /lastTerm: 4 is past the message's term 3/);
  const snapshot = GOOD[8] as Extract<Message, { type: "snapshot" }>;
  refused(
    encodeMessages([{ ...snapshot, snapshot: { ...snapshot.snapshot, members: [] } }]),
    /snapshot\.members: a snapshot sent needs voters/,
  );
  refused(
    encodeMessages([{ ...snapshot, snapshot: { ...snapshot.snapshot, members: ["a", "a"] } }]),
    /snapshot\.members: lists a member twice/,
  );
  refused(
    encodeMessages([{ ...snapshot, snapshot: { ...snapshot.snapshot, term: 9 } }]),
    /snapshot\.term: 9 is past 3/,
  );
});

function patch(frame: Uint8Array, at: number, value: number): Uint8Array {
  const copy = frame.slice();
  copy[at] = value;
  return copy;
}
