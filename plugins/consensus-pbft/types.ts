/**
 * The values the PBFT state machine takes in and gives out: client requests,
 * the protocol messages of Castro and Liskov's Practical Byzantine Fault
 * Tolerance (pre-prepare, prepare, commit, checkpoint, view change, new view),
 * the catch-up messages, the durable records and the Ready.
 *
 * Two kinds of authentication protect them. Every message travels on a
 * channel authenticated per pair of replicas (HMAC-SHA-256, checked by the
 * driver), so `from` is always the real sender. Messages that are forwarded
 * as proof to third parties (pre-prepares, prepares, checkpoints, view
 * changes, new views and client requests) also carry an Ed25519 `signature`
 * by their author, which the state machine checks itself.
 *
 * @module
 */
import type { NodeId } from "../../core/contracts/consensus.ts";

/** A SHA-256 digest (32 bytes). */
export type Digest = Uint8Array;

/**
 * A client's request: one or more operations, executed in one go at one
 * place in the order, at most once per `(client, sequence)`.
 *
 * `client` names who signed it: `"<member>#<label>"` is a replica's own
 * embedded client (signed with that replica's key), `"key:<base64url>"` an
 * outside client whose Ed25519 public key is its name.
 */
export interface Request {
  /** Who issued it (and whose key signed it). */
  client: string;
  /** The client's request number; a client has one request outstanding at a time, numbered upward. */
  sequence: number;
  /** Read-only requests are answered without ordering (one round trip) when replicas agree. */
  readOnly: boolean;
  /** The application's commands, applied in this order. */
  operations: Uint8Array[];
  /** The client's signature over everything above. */
  signature: Uint8Array;
}

/** The primary's proposal: `batch` goes at `sequence` in `view`. The signature covers view, sequence and digest. */
export interface PrePrepare {
  /** Discriminator. */
  type: "prePrepare";
  /** View in which the primary proposes. */
  view: number;
  /** Position in the order. */
  sequence: number;
  /** Digest of the batch. */
  digest: Digest;
  /** The requests; absent where only the proof is carried (inside a view change in a new view). */
  batch?: Request[];
  /** The primary's signature. */
  signature: Uint8Array;
}

/** A backup's agreement with a pre-prepare. */
export interface Prepare {
  /** Discriminator. */
  type: "prepare";
  /** View of the pre-prepare. */
  view: number;
  /** Sequence of the pre-prepare. */
  sequence: number;
  /** Digest of the pre-prepare. */
  digest: Digest;
  /** The backup that signed it. */
  replica: NodeId;
  /** Its signature. */
  signature: Uint8Array;
}

/** A replica's statement that it prepared `digest` at `sequence` in `view` (authenticated by the channel only). */
export interface Commit {
  /** Discriminator. */
  type: "commit";
  /** View. */
  view: number;
  /** Sequence. */
  sequence: number;
  /** Digest. */
  digest: Digest;
}

/** A replica's digest of the service state after executing through `sequence`. */
export interface Checkpoint {
  /** Discriminator. */
  type: "checkpoint";
  /** Last sequence executed. */
  sequence: number;
  /** Digest of the service snapshot there. */
  stateDigest: Digest;
  /** The replica that signed it. */
  replica: NodeId;
  /** Its signature. */
  signature: Uint8Array;
}

/** A checkpoint with a quorum of matching signed checkpoints: the state there is certain. */
export interface StableCheckpoint {
  /** Last sequence covered. */
  sequence: number;
  /** Digest of the service snapshot there (empty for the initial state at sequence 0). */
  stateDigest: Digest;
  /** A quorum of matching checkpoints from distinct replicas (empty at sequence 0). */
  proof: Checkpoint[];
}

/** A pre-prepare with a quorum of matching prepares: nothing else can commit at its sequence. */
export interface PreparedCertificate {
  /** The primary's signed pre-prepare (with its batch inside view changes, without it inside new views). */
  prePrepare: PrePrepare;
  /** Matching prepares from distinct backups. */
  prepares: Prepare[];
}

/** A replica's move to `view`: its stable checkpoint and everything it prepared after it. */
export interface ViewChange {
  /** Discriminator. */
  type: "viewChange";
  /** The view this replica moves to. */
  view: number;
  /** Its latest stable checkpoint, with proof. */
  stable: StableCheckpoint;
  /** For each sequence after the checkpoint, the prepared certificate of the highest view. */
  prepared: PreparedCertificate[];
  /** The replica that signed it. */
  replica: NodeId;
  /** Its signature (over everything but the batches, which their digests cover). */
  signature: Uint8Array;
}

/** The new primary's start of `view`: the view changes it heard and the pre-prepares they imply. */
export interface NewView {
  /** Discriminator. */
  type: "newView";
  /** The view that starts. */
  view: number;
  /** A quorum of view changes for `view` from distinct replicas (their batches left out). */
  viewChanges: ViewChange[];
  /** One signed pre-prepare, with its batch, per sequence the view changes leave open (empty batches fill gaps). */
  prePrepares: PrePrepare[];
  /** The new primary. */
  replica: NodeId;
  /** Its signature. */
  signature: Uint8Array;
}

/** A client's request on the wire (from the client, or forwarded by a replica). */
export interface RequestMessage {
  /** Discriminator. */
  type: "request";
  /** The request. */
  request: Request;
}

/**
 * A replica's answer to an outside client, signed by the replica (outside
 * clients share no channel keys with replicas). A client takes a result once
 * enough distinct replicas sent the same one.
 */
export interface Reply {
  /** Discriminator. */
  type: "reply";
  /** The replica's view (tells the client who is primary). */
  view: number;
  /** The client answered. */
  client: string;
  /** The request answered. */
  sequence: number;
  /** True for the answer to a read-only request. */
  readOnly: boolean;
  /** One result per operation. */
  results: Uint8Array[];
  /** The replica that answers. */
  replica: NodeId;
  /** Its signature over everything above. */
  signature: Uint8Array;
}

/** A replica's progress, sent now and then so peers can send it what it missed. */
export interface Status {
  /** Discriminator. */
  type: "status";
  /** Its view (the view it moves to, during a view change). */
  view: number;
  /** True during a view change. */
  viewChanging: boolean;
  /** Last sequence it executed. */
  executed: number;
  /** Its stable checkpoint. */
  stable: number;
}

/** The state at a stable checkpoint, for a replica that fell behind it. */
export interface StateTransfer {
  /** Discriminator. */
  type: "state";
  /** The checkpoint and its proof. */
  stable: StableCheckpoint;
  /** The service snapshot whose digest the checkpoint names. */
  snapshot: Uint8Array;
}

/** Batches a replica executed, for a replica that missed them; taken once enough replicas agree. */
export interface CommittedBatches {
  /** Discriminator. */
  type: "committed";
  /** Batches in sequence order. */
  batches: { sequence: number; digest: Digest; batch: Request[] }[];
}

/** A message body (what is signed or sent), without its envelope. */
export type MessageBody =
  | RequestMessage
  | PrePrepare
  | Prepare
  | Commit
  | Checkpoint
  | ViewChange
  | NewView
  | Reply
  | Status
  | StateTransfer
  | CommittedBatches;

/** A received message: the body and the authenticated sender. */
export type Message = MessageBody & {
  /** The authenticated sender (a member, or a client id for requests from outside clients). */
  from: string;
};

/** A message to send: to every other member, to some of them, or to one client. */
export interface Outgoing {
  /** Receivers: member ids, or one client id for replies. */
  to: string[];
  /** What to send. */
  message: MessageBody;
}

/** What the state machine needs written down before its messages leave, and reads back at restart. */
export type DurableRecord =
  | { kind: "view"; view: number; viewChanging: boolean }
  | { kind: "prePrepare"; prePrepare: PrePrepare }
  | { kind: "prepare"; prepare: Prepare }
  | { kind: "commit"; view: number; sequence: number; digest: Digest }
  | { kind: "committed"; sequence: number; digest: Digest; batch?: Request[] }
  | { kind: "checkpoint"; checkpoint: Checkpoint }
  | { kind: "stable"; stable: StableCheckpoint; snapshot: Uint8Array }
  | { kind: "local"; sequence: number; snapshot: Uint8Array }
  | { kind: "newView"; newView: NewView };

/** A request this replica executed, with what each operation returned. */
export interface Execution {
  /** Sequence of its batch. */
  sequence: number;
  /** Digest of its batch. */
  digest: Digest;
  /** The view in which this replica saw the batch commit; undefined when it learned it from others or its log. */
  view: number | undefined;
  /** The request. */
  request: Request;
  /** One result per operation; `undefined` when it was an old request not executed again. */
  results: Uint8Array[] | undefined;
}

/**
 * What the caller must do, in order: write `persist` durably; then send
 * `messages`; then report `executed` to local waiters. Records a crash may
 * lose (`isDeferrable` in `driver.ts`: pre-prepares, prepares, executions)
 * may instead wait for the next record that needs a sync; the machine's
 * restart rule covers them. `compact`, when set, is the whole durable state
 * after a stable checkpoint: the storage may replace everything it holds
 * with it.
 */
export interface PbftReady {
  /** Records to write before anything else. */
  persist: DurableRecord[];
  /** Messages to send, after `persist` is durable (but for the records a crash may lose, see above). */
  messages: Outgoing[];
  /** Requests executed since the last Ready, in order. */
  executed: Execution[];
  /** The compacted durable state, after a stable checkpoint. */
  compact?: DurableRecord[];
}
