/**
 * Outside clients of the PBFT simulation. Each signs its requests, keeps one
 * outstanding at a time, sends it to the replica it believes is primary,
 * broadcasts it when no answer comes, and accepts a result only when f + 1
 * replicas (a quorum for read-only requests) sent the same one, so no
 * Byzantine minority can make it accept a lie. Read-only requests without a
 * quorum of matching answers are sent again as ordered requests.
 *
 * @module
 */
import type { Random } from "../../../core/util/random.ts";
import { replySigningBytes } from "../../../plugins/consensus-pbft/codec.ts";
import type { Signer, Verifier } from "../../../plugins/consensus-pbft/crypto.ts";
import type { Membership } from "../../../plugins/consensus-pbft/membership.ts";
import type { MessageBody, Reply, Request } from "../../../plugins/consensus-pbft/types.ts";
import { decodeResult, type KvOperation as ServiceOperation, signRequest } from "../../support/pbft_fakes.ts";
import type { EventQueue } from "../event_queue.ts";
import type { KvOperation as HistoryOperation } from "../../../testing/linearizability.ts";

/** What a client needs from the simulation. */
export interface ClientEnvironment {
  /** The agenda. */
  queue: EventQueue;
  /** The run's randomness. */
  random: Random;
  /** The replicas. */
  membership: Membership;
  /** Sends a message from this client. */
  send(from: string, to: string[], body: MessageBody): void;
  /** Where completed operations go. */
  history: HistoryOperation[];
  /** Every request any client issued, by `client:sequence`, with its operations as text. */
  issued: Map<string, string>;
  /** Keys the clients use. */
  keys: string[];
  /** Checks replicas' signatures on replies. */
  verifier: Verifier;
}

interface Outstanding {
  request: Request;
  operation: ServiceOperation;
  callMs: number;
  votes: Map<string, Set<string>>;
}

/** One client. */
export class PbftSimClient {
  /** Operations completed. */
  completed = 0;
  /** Operations completed after `markMs`. */
  completedSinceMark = 0;
  #sequence = 0;
  #outstanding: Outstanding | undefined;
  #stopAtMs = Infinity;
  #view = 0;
  #writes = 0;
  #markMs = Infinity;

  /** A client with its own key. */
  constructor(readonly id: string, readonly signer: Signer, readonly environment: ClientEnvironment) {}

  /** True while an operation waits for its answer. */
  get busy(): boolean {
    return this.#outstanding !== undefined;
  }

  /** Starts issuing operations, with pauses, until `stopAtMs`. */
  start(stopAtMs: number): void {
    this.#stopAtMs = stopAtMs;
    this.#scheduleNext();
  }

  /** Counts completions from `atMs` on. */
  mark(atMs: number): void {
    this.#markMs = atMs;
  }

  /** The operations still in flight, as history entries with unknown outcome. */
  unfinished(): HistoryOperation[] {
    const outstanding = this.#outstanding;
    if (!outstanding || outstanding.operation.op !== "put") return [];
    return [{
      clientId: this.id,
      kind: "put",
      key: outstanding.operation.key,
      value: outstanding.operation.value,
      callMs: outstanding.callMs,
      returnMs: Infinity,
    }];
  }

  #scheduleNext(): void {
    const { queue, random } = this.environment;
    queue.after(random.between(0, 30), () => {
      if (queue.nowMs < this.#stopAtMs) this.#issue();
    });
  }

  #issue(): void {
    const { random, keys } = this.environment;
    const key = keys[Math.floor(random.next() * keys.length)];
    const choice = random.next();
    const operation: ServiceOperation = choice < 0.6
      ? { op: "put", key, value: `${this.id.slice(4)}-${++this.#writes}` }
      : { op: "get", key };
    const readOnly = operation.op === "get" && choice > 0.85;
    this.#send(operation, readOnly, [this.#primaryGuess()]);
  }

  #primaryGuess(): string {
    return this.environment.membership.primaryOf(this.#view);
  }

  #send(operation: ServiceOperation, readOnly: boolean, to: string[], sequence = ++this.#sequence): void {
    const request = signRequest(this.signer, this.id, sequence, [operation], readOnly);
    if (!readOnly) this.environment.issued.set(`${this.id}:${sequence}`, JSON.stringify([operation]));
    const callMs = this.#outstanding?.callMs ?? this.environment.queue.nowMs;
    this.#outstanding = { request, operation, callMs, votes: new Map() };
    this.environment.send(this.id, readOnly ? this.environment.membership.members.slice() : to, {
      type: "request",
      request,
    });
    this.#armRetry(request);
  }

  #armRetry(request: Request): void {
    this.environment.queue.after(150 + this.environment.random.between(0, 100), () => {
      const outstanding = this.#outstanding;
      if (!outstanding || outstanding.request !== request) return;
      if (request.readOnly) {
        // No quorum agreed: ask again as an ordered request, same number.
        this.#send(outstanding.operation, false, this.environment.membership.members.slice(), request.sequence);
        return;
      }
      this.environment.send(this.id, this.environment.membership.members.slice(), { type: "request", request });
      this.#armRetry(request);
    });
  }

  /** Takes in a reply from replica `from`. */
  onReply(from: string, reply: Reply): void {
    const outstanding = this.#outstanding;
    if (!outstanding || reply.sequence !== outstanding.request.sequence || reply.client !== this.id) return;
    if (!this.environment.membership.has(from) || reply.replica !== from) return;
    if (!this.environment.verifier.verify(reply.replica, replySigningBytes(reply), reply.signature)) return;
    if (reply.readOnly !== outstanding.request.readOnly) return;
    const { membership } = this.environment;
    const key = JSON.stringify(reply.results.map((result) => [...result]));
    const voters = outstanding.votes.get(key) ?? new Set<string>();
    voters.add(from);
    outstanding.votes.set(key, voters);
    const needed = outstanding.request.readOnly ? membership.quorum : membership.weak;
    if (voters.size < needed) return;
    if (reply.view > this.#view) this.#view = reply.view;
    this.#complete(outstanding, decodeResult(reply.results[0]));
  }

  #complete(outstanding: Outstanding, result: unknown): void {
    const { queue, history } = this.environment;
    const { operation } = outstanding;
    history.push({
      clientId: this.id,
      kind: operation.op === "put" ? "put" : "get",
      key: operation.key,
      value: operation.op === "put" ? operation.value : (result as string | null),
      callMs: outstanding.callMs,
      returnMs: queue.nowMs,
    });
    this.#outstanding = undefined;
    this.completed++;
    if (queue.nowMs >= this.#markMs) this.completedSinceMark++;
    this.#scheduleNext();
  }
}
