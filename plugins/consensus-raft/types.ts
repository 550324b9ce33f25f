/**
 * The values the Raft state machine takes in and gives out: log entries,
 * the durable hard state, snapshots and messages.
 *
 * @module
 */
import type { NodeId } from "../../core/contracts/consensus.ts";

/** What an entry carries: an application command, a new membership, or a new leader's no-op. */
export type EntryKind = "command" | "membership" | "noop";

/** One log entry. */
export interface Entry {
  /** Position, from 1. */
  index: number;
  /** Term of the leader that created it. */
  term: number;
  /** What `data` holds. */
  kind: EntryKind;
  /** The command, or for `membership` the JSON of {@linkcode MembershipData}. */
  data: Uint8Array;
}

/** The body of a `membership` entry: the whole new voter set. */
export interface MembershipData {
  /** Voters after the change. */
  members: NodeId[];
  /** Addresses of members added by this change, so every node can reach them. */
  addresses?: Record<NodeId, string>;
}

/** What must be on disk before messages that depend on it leave. */
export interface HardState {
  /** Latest term seen. */
  term: number;
  /** Candidate voted for in `term`. */
  vote: NodeId | null;
  /** Highest index known committed. */
  commit: number;
}

/** The state machine's state at `index`, with the membership in force there. */
export interface Snapshot {
  /** Last index the snapshot covers. */
  index: number;
  /** Term of that entry. */
  term: number;
  /** Voters at `index`. */
  members: NodeId[];
  /** The application's snapshot bytes. */
  data: Uint8Array;
}

/** Fields every message has. */
export interface Envelope {
  /** Sender. */
  from: NodeId;
  /** Receiver. */
  to: NodeId;
  /** Sender's term (for `preVote`, the term it would campaign in). */
  term: number;
}

/** A (pre-)vote request. `force` is set by a leader transfer, so voters ignore their leader lease. */
export interface VoteRequest extends Envelope {
  /** `preVote` asks without disrupting anyone; `vote` is the real election. */
  type: "preVote" | "vote";
  /** Candidate's last log index. */
  lastIndex: number;
  /** Candidate's last log term. */
  lastTerm: number;
  /** Set for a leader transfer. */
  force: boolean;
}

/** A (pre-)vote answer. */
export interface VoteResponse extends Envelope {
  /** Answers `preVote` or `vote`. */
  type: "preVoteResp" | "voteResp";
  /** Whether the vote was granted. */
  granted: boolean;
}

/** Log replication from the leader. */
export interface AppendRequest extends Envelope {
  /** Discriminator. */
  type: "append";
  /** Index just before `entries`. */
  prevIndex: number;
  /** Term at `prevIndex`. */
  prevTerm: number;
  /** Entries to append (may be empty: a commit update). */
  entries: Entry[];
  /** Leader's commit index. */
  commit: number;
}

/** A follower's answer to `append` or `snapshot`. */
export interface AppendResponse extends Envelope {
  /** Discriminator. */
  type: "appendResp";
  /** On success the follower's matching index; on rejection the rejected `prevIndex`. */
  index: number;
  /** The log did not match at `prevIndex`. */
  reject: boolean;
  /** On rejection: the leader may retry from `rejectHint + 1`. */
  rejectHint: number;
}

/** A leader's heartbeat; `readSeq` asks the follower to confirm leadership for reads up to it. */
export interface Heartbeat extends Envelope {
  /** Discriminator. */
  type: "heartbeat";
  /** `min(leader commit, follower's match)`. */
  commit: number;
  /** Latest read request sequence number the leader wants confirmed. */
  readSeq: number;
}

/** Answer to a heartbeat. */
export interface HeartbeatResponse extends Envelope {
  /** Discriminator. */
  type: "heartbeatResp";
  /** The heartbeat's `readSeq`, echoed. */
  readSeq: number;
}

/** A whole snapshot, for a follower too far behind for entries. */
export interface InstallSnapshot extends Envelope {
  /** Discriminator. */
  type: "snapshot";
  /** The snapshot. */
  snapshot: Snapshot;
}

/** Tells a caught-up follower to campaign now (leader transfer). */
export interface TimeoutNow extends Envelope {
  /** Discriminator. */
  type: "timeoutNow";
}

/** Every message Raft nodes exchange. */
export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | InstallSnapshot
  | TimeoutNow;

/** The role of a Raft node. */
export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

/** A linearizable read confirmed by a quorum: serve it once `index` is applied. */
export interface ReadState {
  /** The caller's request id. */
  requestId: number;
  /** Commit index when the read was asked; apply up to here first. */
  index: number;
}

/**
 * What the caller must do, in order: persist `hardState`, `snapshot` and
 * `entries`; then send `messages`; then restore `snapshot` into the state
 * machine and apply `committed`; serve `readStates` once applied; fail
 * `droppedReads`; finally call `advance`.
 */
export interface Ready {
  /** Changed hard state to persist, if any. */
  hardState?: HardState;
  /** A snapshot received from the leader, to persist and restore. */
  snapshot?: Snapshot;
  /** Entries to persist; they replace any stored entries from `entries[0].index` on. */
  entries: Entry[];
  /** Entries to apply, in order. */
  committed: Entry[];
  /** Messages to send. */
  messages: Message[];
  /** Confirmed reads. */
  readStates: ReadState[];
  /** Reads that cannot be confirmed (leadership lost); retry elsewhere. */
  droppedReads: number[];
}
