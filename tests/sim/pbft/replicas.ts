/**
 * The replicas of the PBFT simulation: an honest replica (the real state
 * machine, its service and its durable records, able to crash, losing what
 * its driver would have held back for the next sync, and restart)
 * and the Byzantine behaviours, each built on the honest code of a faulty
 * replica, which holds that replica's key and nobody else's.
 *
 * Behaviours: silent; equivocating (different batches, orders and digests to
 * different replicas); forging (messages in other replicas' names, requests
 * in clients' names); replaying old messages; garbage frames and bit flips;
 * wrong digests; stale and future views; view-change spam; lying
 * checkpoints and states; twins (two instances with one identity);
 * ByzzFuzz-style small-scope mutation of its own messages (view or sequence
 * off by one, an older message of the same kind instead); and an accomplice,
 * which takes part in quorums for some replicas only and leaves its prepared
 * certificates out of its view changes, so that a replica that commits too
 * early is caught out at the next view change.
 *
 * @module
 */
import type { Random } from "../../../core/util/random.ts";
import {
  batchDigest,
  checkpointSigningBytes,
  encodeMessages,
  newViewSigningBytes,
  prepareSigningBytes,
  prePrepareSigningBytes,
  replySigningBytes,
  requestSigningBytes,
  viewChangeSigningBytes,
} from "../../../plugins/consensus-pbft/codec.ts";
import type { Signer, Verifier } from "../../../plugins/consensus-pbft/crypto.ts";
import { DEFAULT_PBFT_CONFIG, Pbft, type PbftConfig } from "../../../plugins/consensus-pbft/pbft.ts";
import { DriverDisk } from "../../support/pbft_disk.ts";
import type { Execution, Message, MessageBody, Request } from "../../../plugins/consensus-pbft/types.ts";
import { KvService } from "../../support/pbft_fakes.ts";

/** Something a replica sends: a message, or (from a Byzantine one) raw bytes. */
export interface Sent {
  /** Receivers. */
  to: string[];
  /** The message, encoded by the network. */
  body?: MessageBody;
  /** Raw bytes instead of a message. */
  frame?: Uint8Array;
}

/** A replica as the simulation drives it. */
export interface SimReplica {
  /** Its identity. */
  readonly id: string;
  /** True for the Byzantine ones (their state is not checked). */
  readonly byzantine: boolean;
  /** Takes in a decoded message from an authenticated sender. */
  receive(from: string, body: MessageBody): void;
  /** One tick. */
  tick(): void;
  /** What it wants sent now. */
  drain(): Sent[];
}

/** What every replica of one run shares. */
export interface ReplicaContext {
  /** Every replica. */
  members: string[];
  /** Tunables. */
  config: Partial<PbftConfig>;
  /** Checks signatures. */
  verifier: Verifier;
  /** The run's randomness. */
  random: Random;
}

/** A correct replica: the real state machine, a service and durable records; it may crash and restart. */
export class HonestReplica implements SimReplica {
  /** Never Byzantine. */
  readonly byzantine = false;
  /** Its state machine (replaced on restart). */
  machine: Pbft;
  /** Its service (replaced on restart). */
  service = new KvService();
  /** Its disk: what it persisted, the records the driver would hold back lost in a crash. */
  readonly disk = new DriverDisk();
  /** False while crashed. */
  up = true;
  /** Times it restarted. */
  restarts = 0;
  #out: Sent[] = [];
  #executions: Execution[] = [];

  /** Starts a new replica. */
  constructor(readonly id: string, readonly signer: Signer, readonly context: ReplicaContext) {
    this.machine = this.#create();
    this.#collect();
  }

  #create(): Pbft {
    return new Pbft({
      ...DEFAULT_PBFT_CONFIG,
      ...this.context.config,
      id: this.id,
      members: this.context.members,
      signer: this.signer,
      verifier: this.context.verifier,
      service: this.service,
    }, this.disk.records);
  }

  #collect(): void {
    if (!this.machine.hasReady()) return;
    const ready = this.machine.ready();
    this.disk.write(ready);
    for (const { to, message } of ready.messages) this.#out.push({ to, body: message });
    this.#executions.push(...ready.executed);
  }

  /** The requests executed since the last call. */
  takeExecutions(): Execution[] {
    const executions = this.#executions;
    this.#executions = [];
    return executions;
  }

  /** Steps the message (nothing while crashed). */
  receive(from: string, body: MessageBody): void {
    if (!this.up) return;
    this.machine.step({ ...body, from } as Message);
    this.#collect();
  }

  /** Ticks (nothing while crashed). */
  tick(): void {
    if (!this.up) return;
    this.machine.tick();
    this.#collect();
  }

  /** Takes the outgoing messages. */
  drain(): Sent[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** Stops; its synced records stay, the ones held back for the next sync are lost. */
  crash(): void {
    this.up = false;
    this.#out = [];
    this.disk.crash();
  }

  /** Starts again from its records with a fresh service. */
  restart(): void {
    this.service = new KvService();
    this.machine = this.#create();
    this.up = true;
    this.restarts++;
    this.#collect();
  }
}

/** The Byzantine behaviours. */
export const BEHAVIOURS = [
  "silent",
  "equivocate",
  "forge",
  "replay",
  "garbage",
  "wrong-digest",
  "stale-view",
  "view-change-spam",
  "lying-checkpoint",
  "twins",
  "mutate",
  "accomplice",
] as const;

/** One Byzantine behaviour. */
export type Behaviour = (typeof BEHAVIOURS)[number];

/** Signs a message again as `signer` after it was changed (only the signer's own signatures can be made). */
export function resign(body: MessageBody, signer: Signer): MessageBody {
  switch (body.type) {
    case "prePrepare":
      return { ...body, signature: signer.sign(prePrepareSigningBytes(body.view, body.sequence, body.digest)) };
    case "prepare": {
      const prepare = { ...body, replica: signer.id };
      return { ...prepare, signature: signer.sign(prepareSigningBytes(prepare)) };
    }
    case "checkpoint": {
      const checkpoint = { ...body, replica: signer.id };
      return { ...checkpoint, signature: signer.sign(checkpointSigningBytes(checkpoint)) };
    }
    case "viewChange": {
      const viewChange = { ...body, replica: signer.id };
      return { ...viewChange, signature: signer.sign(viewChangeSigningBytes(viewChange)) };
    }
    case "newView": {
      const newView = { ...body, replica: signer.id };
      return { ...newView, signature: signer.sign(newViewSigningBytes(newView)) };
    }
    default:
      return body;
  }
}

function randomDigest(random: Random): Uint8Array {
  return Uint8Array.from({ length: 32 }, () => Math.floor(random.next() * 256));
}

/** A Byzantine replica: honest code (one or two instances) whose traffic a behaviour bends. */
export class ByzantineReplica implements SimReplica {
  /** Always Byzantine. */
  readonly byzantine = true;
  readonly #honest: HonestReplica[];
  readonly #random: Random;
  readonly #others: string[];
  #out: Sent[] = [];
  /** Messages seen, for replays. */
  #seen: MessageBody[] = [];
  /** Messages it sent earlier, by type, for ByzzFuzz's "older value". */
  #sentBefore = new Map<string, MessageBody[]>();
  #ticks = 0;

  /** Builds `behaviour` for replica `id`, which holds `signer`. */
  constructor(
    readonly id: string,
    readonly behaviour: Behaviour,
    readonly signer: Signer,
    readonly context: ReplicaContext,
    /** Clients whose names a forger may use. */
    readonly clientIds: string[],
  ) {
    this.#random = context.random;
    this.#others = context.members.filter((member) => member !== id);
    const instances = behaviour === "twins" ? 2 : 1;
    this.#honest = Array.from({ length: instances }, () => new HonestReplica(id, signer, context));
  }

  receive(from: string, body: MessageBody): void {
    if (this.behaviour === "silent") return;
    if (this.#seen.length < 2_000) this.#seen.push(body);
    else this.#seen[Math.floor(this.#random.next() * this.#seen.length)] = body;
    if (this.behaviour === "twins") {
      // Each twin hears a different part of the traffic.
      const which = this.#random.next();
      if (which < 0.45) this.#honest[0].receive(from, body);
      else if (which < 0.9) this.#honest[1].receive(from, body);
      else for (const twin of this.#honest) twin.receive(from, body);
      return;
    }
    this.#honest[0].receive(from, body);
  }

  tick(): void {
    if (this.behaviour === "silent") return;
    this.#ticks++;
    for (const twin of this.#honest) twin.tick();
    this.#act();
  }

  drain(): Sent[] {
    if (this.behaviour === "silent") return [];
    for (const twin of this.#honest) {
      twin.takeExecutions();
      for (const sent of twin.drain()) this.#bend(sent);
    }
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #favouredByView = new Map<number, string>();
  #conspiring: string[] | undefined;

  /**
   * Joins an attack the adversary coordinates with the network: until called
   * with `undefined`, whatever the behaviour, its votes go to `victims` only
   * and its view changes carry no certificates.
   */
  conspire(victims: string[] | undefined): void {
    this.#conspiring = victims;
  }

  /** The replica an accomplice sends its votes to in `view`. */
  #favoured(view: number): string {
    let favoured = this.#favouredByView.get(view);
    if (!favoured) {
      const primary = this.#honest[0].machine.membership.primaryOf(view);
      favoured = this.#pick(this.#others.filter((id) => id !== primary));
      this.#favouredByView.set(view, favoured);
    }
    return favoured;
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random.next() * items.length)];
  }

  #emit(to: string[], body: MessageBody): void {
    this.#out.push({ to, body });
  }

  /** Per receiver, what the behaviour makes of an honest message. */
  #bend(sent: Sent): void {
    const body = sent.body!;
    if (this.#conspiring) {
      if (body.type === "viewChange") return this.#emit(sent.to, resign({ ...body, prepared: [] }, this.signer));
      if (body.type === "prepare" || body.type === "commit") {
        const victims = sent.to.filter((to) => this.#conspiring!.includes(to));
        if (victims.length > 0) this.#emit(victims, body);
        return;
      }
    }
    const remember = this.#sentBefore.get(body.type) ?? [];
    if (remember.length < 50) remember.push(body);
    this.#sentBefore.set(body.type, remember);
    switch (this.behaviour) {
      case "equivocate":
        for (const to of sent.to) {
          const sentBody = this.#random.next() < 0.5 ? this.#equivocal(body) : body;
          this.#emit([to], sentBody);
          if (sentBody.type === "prePrepare") {
            // A primary has no say in the prepare phase; this one votes anyway.
            const vote = {
              view: sentBody.view,
              sequence: sentBody.sequence,
              digest: sentBody.digest,
              replica: this.id,
            };
            this.#emit([to], { type: "prepare", ...vote, signature: this.signer.sign(prepareSigningBytes(vote)) });
          }
        }
        return;
      case "wrong-digest":
        for (const to of sent.to) this.#emit([to], this.#random.next() < 0.4 ? this.#withDigest(body) : body);
        return;
      case "stale-view":
        for (const to of sent.to) this.#emit([to], this.#random.next() < 0.4 ? this.#shiftView(body) : body);
        return;
      case "lying-checkpoint":
        if (body.type === "checkpoint") return this.#emit(sent.to, this.#withDigest(body));
        if (body.type === "state") {
          const lie = { ...body, snapshot: new TextEncoder().encode('{"values":[],"table":[],"log":[]}') };
          return this.#emit(sent.to, lie);
        }
        return this.#emit(sent.to, body);
      case "mutate":
        for (const to of sent.to) this.#emit([to], this.#random.next() < 0.3 ? this.#mutate(body) : body);
        return;
      case "replay":
        // As primary it also slips requests that already ran into its batches.
        if (body.type === "prePrepare" && body.batch) {
          const old = this.#seen.flatMap((seen) => seen.type === "request" ? [seen.request] : []);
          const extra = old.length > 0 ? this.#pick(old) : undefined;
          if (extra && !body.batch.some((request) => request.client === extra.client)) {
            const batch = [...body.batch, extra];
            return this.#emit(sent.to, resign({ ...body, batch, digest: batchDigest(batch) }, this.signer));
          }
        }
        return this.#emit(sent.to, body);
      case "accomplice": {
        if (body.type === "viewChange") return this.#emit(sent.to, resign({ ...body, prepared: [] }, this.signer));
        if (body.type === "prepare" || body.type === "commit") {
          // Votes go to one replica per view only: it may reach a quorum that no other replica sees.
          const favoured = this.#favoured(body.view);
          if (sent.to.includes(favoured)) this.#emit([favoured], body);
          return;
        }
        return this.#emit(sent.to, body);
      }
      case "garbage":
        for (const to of sent.to) {
          if (this.#random.next() < 0.3) {
            const frame = encodeMessages([body]);
            const flips = 1 + Math.floor(this.#random.next() * 4);
            for (let i = 0; i < flips; i++) {
              frame[Math.floor(this.#random.next() * frame.length)] ^= 1 << Math.floor(this.#random.next() * 8);
            }
            this.#out.push({ to: [to], frame });
          } else this.#emit([to], body);
        }
        return;
      default:
        this.#emit(sent.to, body);
    }
  }

  /** Extra traffic some behaviours add every few ticks. */
  #act(): void {
    if (this.#ticks % 5 !== 0) return;
    const target = [this.#pick(this.#others)];
    const machine = this.#honest[0].machine;
    switch (this.behaviour) {
      case "forge":
        return this.#forge();
      case "replay":
        if (this.#seen.length > 0) this.#emit(target, this.#pick(this.#seen));
        return;
      case "view-change-spam": {
        const view = machine.view + 1 + Math.floor(this.#random.next() * 5);
        const viewChange = {
          type: "viewChange" as const,
          view,
          stable: machine.stable,
          prepared: [],
          replica: this.id,
        };
        this.#emit(this.#others, { ...viewChange, signature: this.signer.sign(viewChangeSigningBytes(viewChange)) });
        return;
      }
      case "garbage": {
        const frame = Uint8Array.from(
          { length: 1 + Math.floor(this.#random.next() * 200) },
          () => Math.floor(this.#random.next() * 256),
        );
        if (this.#random.next() < 0.5) frame[0] = 1;
        this.#out.push({ to: target, frame });
        return;
      }
    }
  }

  /**
   * Messages in other replicas' and clients' names, signed with its own key:
   * prepares for the batch in flight, a pre-prepare as if it were primary,
   * a request as if from a client, checkpoints of others.
   */
  #forge(): void {
    const machine = this.#honest[0].machine;
    const view = machine.view;
    const latest = this.#seen.findLast((body) => body.type === "prePrepare" && body.view === view);
    const sequence = latest?.type === "prePrepare" ? latest.sequence : machine.executed + 1;
    const digest = latest?.type === "prePrepare" ? latest.digest : randomDigest(this.#random);
    for (const victim of this.#others) {
      const prepare = { view, sequence, digest, replica: victim };
      this.#emit(this.#others, {
        type: "prepare",
        ...prepare,
        signature: this.signer.sign(prepareSigningBytes(prepare)),
      });
    }
    const requests = this.#seen.flatMap((body) => body.type === "request" ? [body.request] : []).slice(-3);
    const batch = this.#random.next() < 0.5 ? [] : requests;
    const next = sequence + 1;
    this.#emit(this.#others, {
      type: "prePrepare",
      view,
      sequence: next,
      digest: batchDigest(batch),
      batch,
      signature: this.signer.sign(prePrepareSigningBytes(view, next, batchDigest(batch))),
    });
    if (this.clientIds.length > 0) {
      const body = {
        client: this.#pick(this.clientIds),
        sequence: 1 + Math.floor(this.#random.next() * 1000),
        readOnly: false,
        operations: [new TextEncoder().encode('{"op":"put","key":"k0","value":"forged"}')],
      };
      const request: Request = { ...body, signature: this.signer.sign(requestSigningBytes(body)) };
      this.#emit(this.#others, { type: "request", request });
    }
    if (this.clientIds.length > 0) {
      // A reply in another replica's name, with a result nobody computed.
      const reply = {
        view,
        client: this.#pick(this.clientIds),
        sequence: 1 + Math.floor(this.#random.next() * 20),
        readOnly: this.#random.next() < 0.3,
        results: [new TextEncoder().encode('"forged"')],
        replica: this.#pick(this.#others),
      };
      this.#emit([reply.client], { type: "reply", ...reply, signature: this.signer.sign(replySigningBytes(reply)) });
    }
    const victim = this.#pick(this.#others);
    const forgedChange = {
      type: "viewChange" as const,
      view: view + 1,
      stable: machine.stable,
      prepared: [],
      replica: victim,
    };
    this.#emit(this.#others, { ...forgedChange, signature: this.signer.sign(viewChangeSigningBytes(forgedChange)) });
    const fake = this.#random.next() < 0.5 ? [] : [...requests].reverse();
    this.#emit(this.#others, {
      type: "committed",
      batches: [{ sequence: machine.executed + 1, digest: batchDigest(fake), batch: fake }],
    });
    const checkpoint = {
      sequence: 8 * (1 + Math.floor(this.#random.next() * 4)),
      stateDigest: digest,
      replica: victim,
    };
    this.#emit(this.#others, {
      type: "checkpoint",
      ...checkpoint,
      signature: this.signer.sign(checkpointSigningBytes(checkpoint)),
    });
  }

  #equivocal(body: MessageBody): MessageBody {
    if (body.type === "prePrepare" && body.batch) {
      const choice = this.#random.next();
      const batch = choice < 0.4 ? [...body.batch].reverse() : choice < 0.8 ? body.batch.slice(0, -1) : [];
      return resign({ ...body, batch, digest: batchDigest(batch) }, this.signer);
    }
    if (body.type === "prepare" || body.type === "commit") return this.#withDigest(body);
    return body;
  }

  #withDigest(body: MessageBody): MessageBody {
    switch (body.type) {
      case "prepare":
      case "commit":
      case "prePrepare":
        return resign({ ...body, digest: randomDigest(this.#random) }, this.signer);
      case "checkpoint":
        return resign({ ...body, stateDigest: randomDigest(this.#random) }, this.signer);
      default:
        return body;
    }
  }

  #shiftView(body: MessageBody): MessageBody {
    const shift = this.#random.next() < 0.5 ? -1 : 1;
    switch (body.type) {
      case "prePrepare":
      case "prepare":
      case "commit":
      case "viewChange":
      case "newView":
      case "status":
        return resign({ ...body, view: Math.max(0, body.view + shift) }, this.signer);
      default:
        return body;
    }
  }

  #mutate(body: MessageBody): MessageBody {
    const choice = this.#random.next();
    if (choice < 0.35) return this.#shiftView(body);
    if (choice < 0.7) {
      const shift = this.#random.next() < 0.5 ? -1 : 1;
      switch (body.type) {
        case "prePrepare":
        case "prepare":
        case "commit":
        case "checkpoint":
          return resign({ ...body, sequence: Math.max(0, body.sequence + shift) }, this.signer);
        default:
          return body;
      }
    }
    const older = this.#sentBefore.get(body.type);
    return older && older.length > 0 ? this.#pick(older) : body;
  }
}
