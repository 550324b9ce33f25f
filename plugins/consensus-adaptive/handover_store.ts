/**
 * Where a replica keeps the handover that starts its current epoch: the
 * state every correct replica had when the epoch before was sealed. On
 * restart the adaptive engine starts the newest epoch found here (restoring
 * the handover before its engine replays its own log), or epoch 0 when
 * there is none.
 *
 * The encoding is the wire form too: a replica that missed a switch fetches
 * these bytes from its peers, and takes them once `f + 1` of them sent the
 * same digest.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { isMode } from "../../core/contracts/mode.ts";
import { SwitchyardError } from "../../core/util/errors.ts";
import type { Handover } from "./epoch_machine.ts";
import type { AdaptiveErrorCode } from "./errors.ts";

/** Keeps the newest handover durably. */
export interface HandoverStore {
  /** The newest handover kept, if any. */
  latest(): Promise<Handover | undefined>;
  /** Keeps `handover` durably in place of the one before; resolves once it is on disk. */
  save(handover: Handover): Promise<void>;
}

const VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A handover as bytes: a length-prefixed JSON header, then the state. */
export function encodeHandover(handover: Handover): Uint8Array {
  const { state, ...header } = handover;
  const json = encoder.encode(JSON.stringify({ version: VERSION, ...header }));
  const bytes = new Uint8Array(4 + json.byteLength + state.byteLength);
  new DataView(bytes.buffer).setUint32(0, json.byteLength);
  bytes.set(json, 4);
  bytes.set(state, 4 + json.byteLength);
  return bytes;
}

/** Reads {@linkcode encodeHandover}'s bytes; throws `FRAME_INVALID` naming what is wrong. */
export function decodeHandover(bytes: Uint8Array): Handover {
  const invalid = (what: string) => new SwitchyardError("FRAME_INVALID", `handover: ${what}`);
  if (bytes.byteLength < 4) throw invalid(`${bytes.byteLength} bytes is too short`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + length > bytes.byteLength) throw invalid(`its header claims ${length} bytes, more than it has`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + length)));
  } catch {
    throw invalid("its header is not JSON");
  }
  if (header?.version !== VERSION) throw invalid(`version ${header?.version} is not ${VERSION}`);
  for (const field of ["epoch", "sealedAt", "nextBaseIndex"]) {
    const value = header[field];
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(`${field} is not a whole number`);
  }
  if (header.next !== "raft" && header.next !== "pbft") throw invalid(`next engine ${header.next} is unknown`);
  if (header.firstLeader !== undefined && (typeof header.firstLeader !== "string" || header.firstLeader.length === 0)) {
    throw invalid("firstLeader is not a member id");
  }
  const agreed = header.agreed as Handover["agreed"] | undefined;
  if (!agreed || typeof agreed !== "object" || !isMode(agreed.mode)) throw invalid("agreed has no valid mode");
  return {
    epoch: header.epoch as number,
    sealedAt: header.sealedAt as number,
    next: header.next,
    agreed,
    nextBaseIndex: header.nextBaseIndex as number,
    ...(header.firstLeader !== undefined ? { firstLeader: header.firstLeader as string } : {}),
    state: bytes.slice(4 + length),
  };
}

/** SHA-256 of a handover's encoding, hex: what replicas compare. */
export function handoverDigest(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Handovers in memory: for tests and simulations, where a "restart" keeps the store object. */
export class MemoryHandoverStore implements HandoverStore {
  #bytes: Uint8Array | undefined;

  /** The newest handover kept, if any. */
  latest(): Promise<Handover | undefined> {
    return Promise.resolve(this.#bytes && decodeHandover(this.#bytes));
  }

  /** Keeps `handover`. */
  save(handover: Handover): Promise<void> {
    this.#bytes = encodeHandover(handover);
    return Promise.resolve();
  }
}

/**
 * The handover in `<directory>/handover`: written to a temporary file,
 * synced, renamed over the old one and the directory synced, so a crash
 * leaves the old handover or the new one, never a mix.
 *
 * @example
 * ```ts ignore
 * import { FileHandoverStore } from "./handover_store.ts";
 * const handovers = new FileHandoverStore("/var/lib/switchyard/n1");
 * const latest = await handovers.latest(); // undefined before the first switch
 * ```
 */
export class FileHandoverStore implements HandoverStore {
  /** The file. */
  readonly path: string;
  readonly #directory: string;

  /** Keeps the handover in `directory` (created when missing). */
  constructor(directory: string) {
    this.#directory = directory;
    this.path = join(directory, "handover");
  }

  /** The handover on disk, if any; `HANDOVER_CORRUPT` when the file does not decode. */
  async latest(): Promise<Handover | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(this.path));
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return undefined;
      throw error;
    }
    try {
      return decodeHandover(bytes);
    } catch (error) {
      throw new SwitchyardError<AdaptiveErrorCode>(
        "HANDOVER_CORRUPT",
        `${this.path}: ${(error as Error).message}; refusing to start, the file is left as it is`,
      );
    }
  }

  /** Replaces the handover on disk with `handover`, durably. */
  async save(handover: Handover): Promise<void> {
    await mkdir(this.#directory, { recursive: true });
    const temporary = `${this.path}.tmp`;
    const file = await open(temporary, "w");
    try {
      await file.writeFile(encodeHandover(handover));
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
    const directory = await open(this.#directory, "r");
    try {
      await directory.sync().catch(() => {}); // not every platform syncs directories
    } finally {
      await directory.close();
    }
  }
}
