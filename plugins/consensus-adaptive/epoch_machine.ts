/**
 * The state machine of one epoch of the adaptive engine (issue 15; the plan
 * is `docs/design/adaptive-consensus.md`). The engine in charge (Raft or
 * PBFT) applies the adaptive log's entries to it, in order, on every replica:
 *
 * - application commands go through the deduplication table the adaptive
 *   engine owns (carried from epoch to epoch), so a command re-proposed in
 *   the next epoch under its client identity executes once;
 * - members' reports and forces go to the {@linkcode ModeTally}; when the
 *   agreed mode changes to one another engine serves, the epoch is **sealed
 *   at that entry's index**: the handover state (the deduplicating machine's
 *   snapshot and the tally's, taken right then) is the next epoch's initial
 *   state, the same bytes on every replica;
 * - entries after the seal are not applied: they answer `sealed`, and their
 *   proposers propose them again in the next epoch.
 *
 * Deterministic: the same entries give the same results, seal and handover
 * on every replica, and a replica restored from a snapshot goes on exactly
 * as one that applied everything.
 *
 * @module
 */
import type { ConsensusStateMachine, LogPosition } from "../../core/contracts/consensus.ts";
import type { Mode } from "../../core/contracts/mode.ts";
import { jsonResultCodec, type ResultCodec } from "../../core/contracts/result_codec.ts";
import type { AgreedMode, ModeTally } from "../../core/control/mode_tally.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { ApplyOutcome, DeduplicatingStateMachine } from "../consensus-kit/deduplicating_machine.ts";
import { type AdaptiveEntry, decodeEntry } from "./entries.ts";

/** The engines an epoch can run. */
export type EngineName = "raft" | "pbft";

/** What the epoch machine needs. */
export interface EpochMachineOptions<Result> {
  /** This epoch's number (0 for the first). */
  epoch: number;
  /** The engine running this epoch. */
  engine: EngineName;
  /** The engine that serves `mode` on this cluster (an engine that cannot run here, e.g. PBFT with 3 members, is never named). */
  engineFor(mode: Mode): EngineName;
  /** The deduplicating machine over the application's state machine, carried from epoch to epoch. */
  app: DeduplicatingStateMachine<Result>;
  /** The mode tally, carried from epoch to epoch. */
  tally: ModeTally;
  /**
   * The adaptive log's index just before this epoch's first entry (the seal
   * of the epoch before, counted from the first epoch; 0 for the first): the
   * application sees `baseIndex + index`, so its indices grow across epochs.
   */
  baseIndex?: number;
  /**
   * True when the engine names each entry's authenticated proposer
   * (`LogPosition.proposer`, PBFT): a report or force is then counted only
   * when its member is its proposer, so a Byzantine member cannot speak for
   * another. False where members are trusted (Raft).
   */
  authenticatedProposers?: boolean;
}

/** What applying one entry gave. */
export type EpochResult<Result> =
  | { kind: "command"; outcome: ApplyOutcome<Result> }
  | { kind: "recorded"; agreed?: AgreedMode }
  | { kind: "sealed"; epoch: number; sealedAt: number }
  | { kind: "invalid"; message: string };

/** Where an epoch ended and what the next one starts from. */
export interface Handover {
  /** The epoch that ended. */
  epoch: number;
  /** The index of the entry that sealed it (the last one applied in it). */
  sealedAt: number;
  /** The engine of the next epoch. */
  next: EngineName;
  /** The decision that sealed it. */
  agreed: AgreedMode;
  /** The next epoch's initial state: {@linkcode EpochMachine.snapshot} at the seal. */
  state: Uint8Array;
  /** The next epoch's {@linkcode EpochMachineOptions.baseIndex}: this epoch's base plus `sealedAt`. */
  nextBaseIndex: number;
  /**
   * The member whose entry decided the switch (it was alive a moment ago):
   * a new Raft epoch starts with every member's term-1 vote for it, so it
   * leads at once, without an election.
   */
  firstLeader?: string;
}

const SNAPSHOT_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Applies the adaptive log's entries of one epoch; seals it where the cluster agreed to change engines. */
export class EpochMachine<Result> implements ConsensusStateMachine<EpochResult<Result>> {
  readonly #options: EpochMachineOptions<Result>;
  readonly #baseIndex: number;
  #handover: Handover | undefined;
  #retired = false;
  #retiredState: Uint8Array | undefined;
  /** Called once the epoch is sealed: right after the sealing entry was applied, or after a restore into a sealed state. */
  onSealed: ((handover: Handover) => void) | undefined;
  /** Called after every entry that changed the agreed mode (sealing or not), with its index in the adaptive log. */
  onAgreed: ((agreed: AgreedMode) => void) | undefined;

  /** How the results travel in replies (PBFT encodes them; the application's results through its own codec). */
  readonly resultCodec: ResultCodec<EpochResult<Result>>;

  /** An epoch machine over `options.app` and `options.tally`. */
  constructor(options: EpochMachineOptions<Result>) {
    this.#options = options;
    this.#baseIndex = options.baseIndex ?? 0;
    if (!Number.isSafeInteger(this.#baseIndex) || this.#baseIndex < 0) {
      throw new SwitchyardError(
        "INVALID_ARGUMENT",
        `baseIndex: must be a whole number from 0, got ${options.baseIndex}`,
      );
    }
    this.resultCodec = epochResultCodec(options.app.machine.resultCodec ?? (jsonResultCodec as ResultCodec<Result>));
  }

  /** Where this epoch ended, once it has. */
  get handover(): Handover | undefined {
    return this.#handover;
  }

  /** The epoch this machine applies. */
  get epoch(): number {
    return this.#options.epoch;
  }

  /** The adaptive log's index of this epoch's entry `index`. */
  globalIndex(index: number): number {
    return this.#baseIndex + index;
  }

  /**
   * Detaches this epoch from the shared machines once the next epoch has
   * taken them over: its engine may go on applying or restoring snapshots
   * for a while, and none of that may touch them. From then on entries
   * answer `sealed` (not applied here), `restore` does nothing and
   * `snapshot` gives the state at retirement (the handover's, when sealed).
   */
  retire(): void {
    if (this.#retired) return;
    this.#retiredState = this.#handover?.state ?? this.snapshot();
    this.#retired = true;
  }

  /** Applies the entry at `position`. */
  apply(bytes: Uint8Array, position: LogPosition): EpochResult<Result> {
    if (this.#handover || this.#retired) {
      return { kind: "sealed", epoch: this.#options.epoch, sealedAt: this.#handover?.sealedAt ?? position.index - 1 };
    }
    let entry: AdaptiveEntry;
    try {
      entry = decodeEntry(bytes);
    } catch (error) {
      return { kind: "invalid", message: (error as Error).message };
    }
    const index = this.#baseIndex + position.index;
    if (entry.kind === "command") {
      return { kind: "command", outcome: this.#options.app.apply(entry.bytes, { ...position, index }) };
    }
    if (this.#options.authenticatedProposers && position.proposer !== entry.member) {
      return { kind: "invalid", message: `${entry.kind} for ${entry.member} proposed by ${position.proposer}` };
    }
    const agreed = this.#options.tally.apply(entry, index);
    if (!agreed) return { kind: "recorded" };
    this.onAgreed?.(agreed);
    const next = this.#options.engineFor(agreed.mode);
    if (next !== this.#options.engine) {
      this.#handover = {
        epoch: this.#options.epoch,
        sealedAt: position.index,
        next,
        agreed,
        state: new Uint8Array(),
        nextBaseIndex: index,
        firstLeader: entry.member,
      };
      this.#handover.state = this.snapshot();
      this.onSealed?.(this.#handover);
    }
    return { kind: "recorded", agreed };
  }

  /**
   * The epoch's state: its number, where it was sealed (if it was), the
   * tally's snapshot and the deduplicating machine's (the application's state
   * and the client table).
   */
  snapshot(): Uint8Array {
    if (this.#retiredState) return this.#retiredState;
    const header = encoder.encode(JSON.stringify({
      version: SNAPSHOT_VERSION,
      epoch: this.#options.epoch,
      engine: this.#options.engine,
      baseIndex: this.#baseIndex,
      sealedAt: this.#handover?.sealedAt ?? null,
      next: this.#handover?.next ?? null,
      firstLeader: this.#handover?.firstLeader ?? null,
    }));
    const tally = this.#options.tally.snapshot();
    const app = this.#options.app.snapshot();
    const bytes = new Uint8Array(12 + header.byteLength + tally.byteLength + app.byteLength);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, header.byteLength);
    view.setUint32(4, tally.byteLength);
    view.setUint32(8, app.byteLength);
    bytes.set(header, 12);
    bytes.set(tally, 12 + header.byteLength);
    bytes.set(app, 12 + header.byteLength + tally.byteLength);
    return bytes;
  }

  /** Restores a snapshot of this epoch, or the handover state of the epoch before (which starts this one unsealed). */
  restore(snapshot: Uint8Array): void {
    if (this.#retired) return;
    const parts = splitSnapshot(snapshot);
    if (parts.header.epoch > this.#options.epoch) {
      throw new SwitchyardError(
        "FRAME_INVALID",
        `epoch snapshot of epoch ${parts.header.epoch} given to epoch ${this.#options.epoch}`,
      );
    }
    const { header } = parts;
    const expectedBase = header.epoch === this.#options.epoch
      ? header.baseIndex
      : header.sealedAt === null
      ? undefined
      : header.baseIndex + header.sealedAt;
    if (expectedBase !== this.#baseIndex) {
      throw new SwitchyardError(
        "FRAME_INVALID",
        `epoch snapshot of epoch ${header.epoch} (base ${header.baseIndex}, sealed at ${header.sealedAt}) ` +
          `does not start epoch ${this.#options.epoch} at base ${this.#baseIndex}`,
      );
    }
    this.#options.tally.restore(parts.tally);
    this.#options.app.restore(parts.app);
    this.#handover = undefined;
    if (parts.header.epoch === this.#options.epoch && parts.header.sealedAt !== null && parts.header.next) {
      this.#handover = {
        epoch: this.#options.epoch,
        sealedAt: parts.header.sealedAt,
        next: parts.header.next,
        agreed: this.#options.tally.agreed,
        state: snapshot,
        nextBaseIndex: parts.header.baseIndex + parts.header.sealedAt,
        ...(parts.header.firstLeader ? { firstLeader: parts.header.firstLeader } : {}),
      };
      // Reached the seal through a snapshot (a state transfer, a snapshot install, a restart from one taken after
      // the seal): the switch must start as if the sealing entry had been applied here.
      const handover = this.#handover;
      queueMicrotask(() => this.#handover === handover && this.onSealed?.(handover));
    }
  }
}

interface SnapshotHeader {
  version: number;
  epoch: number;
  engine: EngineName;
  baseIndex: number;
  sealedAt: number | null;
  next: EngineName | null;
  firstLeader?: string | null;
}

function splitSnapshot(bytes: Uint8Array): { header: SnapshotHeader; tally: Uint8Array; app: Uint8Array } {
  const invalid = (what: string) => new SwitchyardError("FRAME_INVALID", `epoch snapshot: ${what}`);
  if (bytes.byteLength < 12) throw invalid(`${bytes.byteLength} bytes, shorter than its lengths`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [headerBytes, tallyBytes, appBytes] = [view.getUint32(0), view.getUint32(4), view.getUint32(8)];
  if (12 + headerBytes + tallyBytes + appBytes !== bytes.byteLength) throw invalid("its lengths do not add up");
  let header: SnapshotHeader;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(12, 12 + headerBytes)));
  } catch {
    throw invalid("its header is not JSON");
  }
  if (header.version !== SNAPSHOT_VERSION) throw invalid(`version ${header.version} is not ${SNAPSHOT_VERSION}`);
  const tallyAt = 12 + headerBytes;
  return {
    header,
    tally: bytes.subarray(tallyAt, tallyAt + tallyBytes),
    app: bytes.subarray(tallyAt + tallyBytes),
  };
}

/**
 * Results as bytes: a JSON header (the kind and everything but the
 * application's result), then the application's result through its own codec
 * (`jsonResultCodec` by default), so byte results survive a reply or the
 * request table's cache.
 */
function epochResultCodec<Result>(appCodec: ResultCodec<Result>): ResultCodec<EpochResult<Result>> {
  return {
    encode: (result) => {
      let header: unknown = result;
      let body: Uint8Array = new Uint8Array();
      if (result.kind === "command") {
        const { outcome } = result;
        if (outcome.ok) {
          const { result: value, ...position } = outcome.committed;
          body = appCodec.encode(value);
          header = { kind: "command", ok: true, ...position };
        } else {
          const code = (outcome.error as SwitchyardError<string>).code ?? "COMMAND_FAILED";
          header = { kind: "command", ok: false, code, message: outcome.error.message };
        }
      }
      const json = encoder.encode(JSON.stringify(header));
      const bytes = new Uint8Array(4 + json.byteLength + body.byteLength);
      new DataView(bytes.buffer).setUint32(0, json.byteLength);
      bytes.set(json, 4);
      bytes.set(body, 4 + json.byteLength);
      return bytes;
    },
    decode: (bytes) => {
      const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
      const header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)));
      if (header.kind !== "command") return header;
      if (!header.ok) {
        return {
          kind: "command",
          outcome: { ok: false, error: new SwitchyardError<string>(header.code, header.message) },
        };
      }
      const { kind: _kind, ok: _ok, ...position } = header;
      return {
        kind: "command",
        outcome: { ok: true, committed: { ...position, result: appCodec.decode(bytes.subarray(4 + length)) } },
      };
    },
  };
}
