/**
 * Test doubles for the PBFT state machine: fast keyed signatures (seeded
 * xxHash32 over the bytes, the seed being a per-identity secret; the code
 * under test never sees another identity's secret, so only its holder makes
 * valid ones), a small deterministic key-value service with the client
 * table, and outside clients that sign requests.
 *
 * @module
 */
import { requestSigningBytes } from "../../plugins/consensus-pbft/codec.ts";
import type { Signer, Verifier } from "../../plugins/consensus-pbft/crypto.ts";
import type { ReplicatedService } from "../../plugins/consensus-pbft/pbft.ts";
import type { Request } from "../../plugins/consensus-pbft/types.ts";
import { xxhash32 } from "../../core/util/xxhash32.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** 64 bytes from four seeded xxHash32 runs: cheap, and only the holder of the secret seed can make them. */
function keyedHash(secret: number, bytes: Uint8Array): Uint8Array {
  const signature = new Uint8Array(64);
  const view = new DataView(signature.buffer);
  for (let i = 0; i < 4; i++) {
    const word = xxhash32(bytes, (secret + i * 0x9e3779b9) >>> 0);
    for (let copy = 0; copy < 4; copy++) view.setUint32(copy * 16 + i * 4, word);
  }
  return signature;
}

/** Every identity's secret; hands out signers and one verifier. */
export class FakeKeys implements Verifier {
  readonly #secrets = new Map<string, number>();

  /** A signer for `id` (creating its secret on first use). */
  signer(id: string): Signer {
    if (!this.#secrets.has(id)) {
      this.#secrets.set(id, xxhash32(new TextEncoder().encode(`secret-of-${id}`), this.#secrets.size));
    }
    const secret = this.#secrets.get(id)!;
    return { id, sign: (bytes) => keyedHash(secret, bytes) };
  }

  /** True when `signature` was made by `signer`'s secret over `bytes`. */
  verify(signer: string, bytes: Uint8Array, signature: Uint8Array): boolean {
    const secret = this.#secrets.get(signer);
    if (secret === undefined || signature.length !== 64) return false;
    const expected = keyedHash(secret, bytes);
    return expected.every((byte, i) => byte === signature[i]);
  }
}

/** An operation of the test service. */
export type KvOperation =
  | { op: "put"; key: string; value: string }
  | { op: "get"; key: string }
  | { op: "append"; key: string; value: string }
  | { op: "cas"; key: string; expect: string | null; value: string };

/** Encodes an operation. */
export function encodeOperation(operation: KvOperation): Uint8Array {
  return encoder.encode(JSON.stringify(operation));
}

/** Decodes a result: the value read or written, `null` for none, or `{ ok }` for a compare-and-swap. */
export function decodeResult(result: Uint8Array): unknown {
  return JSON.parse(decoder.decode(result));
}

/** A key-value store behind a client table: each `(client, sequence)` executes once. */
export class KvService implements ReplicatedService {
  /** The store. */
  values = new Map<string, string>();
  /** Requests executed in this incarnation, in order: `client:sequence` (earlier ones came in a snapshot). */
  executedLog: string[] = [];
  /** How many requests the state had executed before `executedLog` starts. */
  logBase = 0;
  #table = new Map<string, { sequence: number; results: Uint8Array[] }>();

  /** Executes each operation, unless the client's table entry says it already ran. */
  execute(request: Request): Uint8Array[] | undefined {
    const last = this.#table.get(request.client);
    if (last && last.sequence >= request.sequence) return undefined;
    const results = request.operations.map((operation) => this.#apply(JSON.parse(decoder.decode(operation))));
    this.#table.set(request.client, { sequence: request.sequence, results });
    this.executedLog.push(`${request.client}:${request.sequence}`);
    return results;
  }

  /** The client's last reply. */
  lastReply(client: string): { sequence: number; results: Uint8Array[] } | undefined {
    return this.#table.get(client);
  }

  /** Reads only. */
  query(request: Request): Uint8Array[] {
    return request.operations.map((operation) => {
      const parsed = JSON.parse(decoder.decode(operation)) as KvOperation;
      return encoder.encode(JSON.stringify(this.values.get(parsed.key) ?? null));
    });
  }

  /** Store, table and log, as JSON. */
  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify({
      values: [...this.values].sort(),
      table: [...this.#table].sort().map((
        [client, entry],
      ) => [client, entry.sequence, entry.results.map((r) => decoder.decode(r))]),
      executed: this.logBase + this.executedLog.length,
    }));
  }

  /** Replaces everything with a snapshot's. */
  restore(snapshot: Uint8Array): void {
    const parsed = JSON.parse(decoder.decode(snapshot));
    this.values = new Map(parsed.values);
    this.#table = new Map(
      parsed.table.map(([client, sequence, results]: [string, number, string[]]) => [
        client,
        { sequence, results: results.map((r) => encoder.encode(r)) },
      ]),
    );
    this.executedLog = [];
    this.logBase = parsed.executed;
  }

  #apply(operation: KvOperation): Uint8Array {
    const current = this.values.get(operation.key) ?? null;
    let result: unknown;
    switch (operation.op) {
      case "get":
        result = current;
        break;
      case "put":
        this.values.set(operation.key, operation.value);
        result = operation.value;
        break;
      case "append":
        this.values.set(operation.key, (current ?? "") + operation.value);
        result = this.values.get(operation.key);
        break;
      case "cas":
        if (current === operation.expect) this.values.set(operation.key, operation.value);
        result = { ok: current === operation.expect };
        break;
    }
    return encoder.encode(JSON.stringify(result));
  }
}

/** Signs a request as `signer` (whose id is the client, or a member for `member#label` clients). */
export function signRequest(
  signer: Signer,
  client: string,
  sequence: number,
  operations: KvOperation[],
  readOnly = false,
): Request {
  const body = { client, sequence, readOnly, operations: operations.map(encodeOperation) };
  return { ...body, signature: signer.sign(requestSigningBytes(body)) };
}
