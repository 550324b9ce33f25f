/**
 * An outside PBFT client: it trusts no single replica. It signs each request
 * with its own Ed25519 key (its identity is that public key), sends it to the
 * replica it believes is primary, and again to every replica when no answer
 * comes; it accepts a result once f + 1 replicas sent the same one, signed,
 * so at least one correct replica vouches for it. A read-only request goes
 * to every replica and is accepted in one round trip when a quorum answers
 * the same; otherwise it is ordered like any other request.
 *
 * A client has one request outstanding at a time. Its key is new for every
 * instance, so its numbering starts at 1 as the replicas' client tables
 * expect.
 *
 * @module
 */
import type { Clock } from "../../core/util/clock.ts";
import { encodeClientCommand } from "../../core/contracts/client_command.ts";
import { ConsensusError } from "../../core/contracts/consensus.ts";
import type { ApplyOutcome } from "../consensus-kit/deduplicating_machine.ts";
import { jsonResultCodec, type ResultCodec } from "../../core/contracts/result_codec.ts";
import type { Transport, TransportConnection } from "../../core/contracts/transport.ts";
import { decodeMessages, encodeMessages, replySigningBytes, requestSigningBytes } from "./codec.ts";
import { Ed25519Signer, generatePrivateKey, type Verifier } from "./crypto.ts";
import { Membership } from "./membership.ts";
import { decodeOutcome } from "./service.ts";
import type { Reply, Request } from "./types.ts";

const CLIENT_FRAME = 2;

/** How a {@linkcode PbftClient} runs. */
export interface PbftClientOptions<Result> {
  /** Transport address of every replica. */
  replicas: Record<string, string>;
  /** Carries frames. */
  transport: Transport;
  /** Checks the replicas' signatures (an `Ed25519Verifier` of their public keys). */
  verifier: Verifier;
  /** Timers. */
  clock: Clock;
  /** Give up after this long (default 10,000 ms). */
  timeoutMs?: number;
  /** Send to every replica when no answer came within this long (default 500 ms). */
  retransmitMs?: number;
  /** How results are decoded (the state machine's `resultCodec`; default JSON). */
  resultCodec?: ResultCodec<Result>;
  /** The client's key (default: a new one). */
  privateKey?: Uint8Array;
}

interface Outstanding {
  request: Request;
  votes: Map<string, Set<string>>;
  settle(outcome: ApplyOutcome<unknown>[] | Error): void;
}

/** A client of a PBFT cluster. */
export class PbftClient<Result = unknown> {
  /** This client's identity (`key:<base64url>`), the name replicas know it by. */
  readonly id: string;
  readonly #options: PbftClientOptions<Result>;
  readonly #signer: Ed25519Signer;
  readonly #membership: Membership;
  readonly #codec: ResultCodec<Result>;
  readonly #connections = new Map<string, Promise<TransportConnection>>();
  #sequence = 0;
  #view = 0;
  #outstanding: Outstanding | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** A client with a new key (or the given one). */
  constructor(options: PbftClientOptions<Result>) {
    this.#options = options;
    this.#signer = new Ed25519Signer(options.privateKey ?? generatePrivateKey());
    this.id = this.#signer.id;
    this.#membership = new Membership(Object.keys(options.replicas));
    this.#codec = options.resultCodec ?? (jsonResultCodec as ResultCodec<Result>);
  }

  /** Orders `command` and returns what the application's `apply` gave, as f + 1 replicas report it. */
  execute(command: Uint8Array): Promise<Result> {
    return this.#serial(() => this.#run(command, false));
  }

  /** Answers `command` with the application's `query`, in one round trip when a quorum agrees. */
  query(command: Uint8Array): Promise<Result> {
    return this.#serial(() => this.#run(command, true));
  }

  /** Closes the connections; a call in flight fails with `CONSENSUS_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#outstanding?.settle(new ConsensusError("CONSENSUS_CLOSED", "the client is closed"));
    for (const connection of this.#connections.values()) {
      await connection.then((open) => open.close(), () => {}).catch(() => {});
    }
    this.#connections.clear();
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#busy.then(work, work);
    this.#busy = next.catch(() => {});
    return next;
  }

  async #run(command: Uint8Array, readOnly: boolean): Promise<Result> {
    if (this.#closed) throw new ConsensusError("CONSENSUS_CLOSED", "the client is closed");
    const operation = encodeClientCommand(command);
    // A read-only request does not use up a number: replicas do not record it.
    let outcomes = readOnly ? await this.#attempt(operation, true, this.#sequence + 1) : undefined;
    if (!outcomes || outcomes instanceof Error) outcomes = await this.#attempt(operation, false, ++this.#sequence);
    if (outcomes instanceof Error) throw outcomes;
    const [outcome] = outcomes;
    if (!outcome.ok) throw outcome.error;
    return outcome.committed.result as Result;
  }

  #attempt(operation: Uint8Array, readOnly: boolean, sequence: number): Promise<ApplyOutcome<unknown>[] | Error> {
    const body = { client: this.id, sequence, readOnly, operations: [operation] };
    const request: Request = { ...body, signature: this.#signer.sign(requestSigningBytes(body)) };
    const { clock } = this.#options;
    const timeoutMs = readOnly ? (this.#options.retransmitMs ?? 500) : (this.#options.timeoutMs ?? 10_000);
    return new Promise((resolve) => {
      const timers: number[] = [];
      const outstanding: Outstanding = {
        request,
        votes: new Map(),
        settle: (outcome) => {
          if (this.#outstanding !== outstanding) return;
          this.#outstanding = undefined;
          for (const timer of timers) clock.clearTimeout(timer);
          resolve(outcome);
        },
      };
      this.#outstanding = outstanding;
      const everyone = Object.keys(this.#options.replicas);
      this.#sendTo(readOnly ? everyone : [this.#membership.primaryOf(this.#view)], request);
      timers.push(clock.setTimeout(() => {
        outstanding.settle(new ConsensusError("CONSENSUS_TIMEOUT", `no agreeing answers within ${timeoutMs} ms`));
      }, timeoutMs));
      const retransmit = () => {
        this.#sendTo(everyone, request);
        timers.push(clock.setTimeout(retransmit, this.#options.retransmitMs ?? 500));
      };
      if (!readOnly) timers.push(clock.setTimeout(retransmit, this.#options.retransmitMs ?? 500));
    });
  }

  #sendTo(replicas: string[], request: Request): void {
    const frame = encodeMessages([{ type: "request", request }]);
    const wire = new Uint8Array(frame.byteLength + 1);
    wire[0] = CLIENT_FRAME;
    wire.set(frame, 1);
    for (const replica of replicas) {
      this.#connection(replica).then((connection) => connection.send(wire)).catch(() =>
        this.#connections.delete(replica)
      );
    }
  }

  #connection(replica: string): Promise<TransportConnection> {
    let connection = this.#connections.get(replica);
    if (!connection) {
      connection = this.#options.transport.dial(this.#options.replicas[replica]);
      this.#connections.set(replica, connection);
      connection.then((open) => {
        this.#listen(replica, open);
        open.closed.finally(() => this.#connections.get(replica) === connection && this.#connections.delete(replica));
      }, () => this.#connections.delete(replica));
    }
    return connection;
  }

  async #listen(replica: string, connection: TransportConnection): Promise<void> {
    try {
      for await (const frame of connection.frames()) {
        if (frame[0] !== CLIENT_FRAME) continue;
        let messages;
        try {
          messages = decodeMessages(frame.subarray(1));
        } catch {
          continue;
        }
        for (const message of messages) if (message.type === "reply") this.#onReply(replica, message);
      }
    } catch {
      // The connection broke: the next send dials again.
    }
  }

  #onReply(replica: string, reply: Reply): void {
    const outstanding = this.#outstanding;
    if (!outstanding || reply.client !== this.id || reply.replica !== replica) return;
    const { request } = outstanding;
    if (reply.sequence !== request.sequence || reply.readOnly !== request.readOnly) return;
    if (!this.#options.verifier.verify(replica, replySigningBytes(reply), reply.signature)) return;
    const key = reply.results.map((result) => [...result].join(",")).join(";");
    const voters = outstanding.votes.get(key) ?? new Set<string>();
    voters.add(replica);
    outstanding.votes.set(key, voters);
    if (voters.size < (request.readOnly ? this.#membership.quorum : this.#membership.weak)) return;
    if (reply.view > this.#view) this.#view = reply.view;
    try {
      outstanding.settle(reply.results.map((bytes) => decodeOutcome(bytes, this.#codec)));
    } catch (error) {
      outstanding.settle(error as Error);
    }
  }
}
