/**
 * The known bugs `deno task test:mutants` plants, one at a time, in a scratch
 * copy of the repository; the default test run must fail on each. Most are in
 * the pure engines (raft.ts, raft_log.ts, pbft.ts); the Raft fsync-ordering
 * ones are in the driver, whose sends around syncs only the driver
 * simulation sees; the PBFT ones are caught by the Byzantine simulation.
 *
 * @module
 */
import type { Mutant } from "./mutant.ts";

const RAFT = "plugins/consensus-raft/raft.ts";
const RAFT_LOG = "plugins/consensus-raft/raft_log.ts";
const DRIVER = "plugins/consensus-raft/driver.ts";
const PBFT = "plugins/consensus-pbft/pbft.ts";
const PBFT_MEMBERSHIP = "plugins/consensus-pbft/membership.ts";
const ADAPTIVE = "plugins/consensus-adaptive/adaptive.ts";
const EPOCH_MACHINE = "plugins/consensus-adaptive/epoch_machine.ts";

const RAFT_SIM = ["tests/sim/raft_sim_test.ts", "tests/plugins/consensus_raft_test.ts"];
const DRIVER_SIM = ["tests/sim/driver_sim_test.ts"];
const PBFT_SIM = ["tests/sim/pbft/pbft_sim_test.ts", "tests/plugins/consensus_pbft_test.ts"];
const ADAPTIVE_SIM = ["tests/sim/adaptive_sim_test.ts", "tests/plugins/consensus_adaptive_test.ts"];

/** Every mutant, in the order the mutation run tries them. */
export const MUTANTS: readonly Mutant[] = [
  {
    name: "read-without-quorum",
    file: RAFT,
    tests: RAFT_SIM,
    find: `      if (this.members.filter((id) => acks.has(id)).length >= quorum) released = i + 1;`,
    replace: `      released = i + 1;`,
    description:
      "A leader answers ReadIndex reads at once, without a quorum confirming it still leads (a local read by a leader that may be deposed).",
    caughtBy: "linearizability (a stale read from a leader cut off from the others while clients still reach it)",
  },
  {
    name: "read-before-term-commit",
    file: RAFT,
    tests: RAFT_SIM,
    find: `    if (this.log.term(this.log.committed) !== this.term) this.#readsAwaitingTermCommit.push(requestId);`,
    replace: `    if (this.log.term(this.log.committed) === -1) this.#readsAwaitingTermCommit.push(requestId);`,
    description:
      "A new leader serves ReadIndex reads before it has committed an entry of its term, so its commit index may lag the previous leader's.",
    caughtBy: "linearizability (a read after a leader change misses a write the old leader acknowledged)",
  },
  {
    name: "commit-earlier-term-by-count",
    file: RAFT,
    tests: RAFT_SIM,
    find: `if (candidate <= this.log.committed || this.log.term(candidate) !== this.term) return false;`,
    replace: `if (candidate <= this.log.committed) return false;`,
    description: "The Figure 8 rule is gone: a leader commits an earlier term's entry by counting replicas.",
    caughtBy: "state machine safety / leader completeness (a later leader overwrites the 'committed' entry)",
  },
  {
    name: "vote-ignores-log",
    file: RAFT,
    tests: RAFT_SIM,
    find: `if (canVote && this.log.isUpToDate(request.lastIndex, request.lastTerm)) {`,
    replace: `if (canVote) {`,
    description: "Votes are granted without the election restriction (the candidate's log may be behind).",
    caughtBy: "leader completeness (a leader without a committed entry)",
  },
  {
    name: "vote-twice-in-a-term",
    file: RAFT,
    tests: RAFT_SIM,
    find: `      (this.vote === null && this.leader === null) ||`,
    replace: `      this.leader === null ||`,
    description: "A node that already voted in this term votes again for another candidate.",
    caughtBy: "election safety (two leaders in one term)",
  },
  {
    name: "vote-forgotten-on-restart",
    file: RAFT,
    tests: RAFT_SIM,
    find: `    this.vote = hardState.vote;`,
    replace: `    this.vote = null;`,
    description: "The vote is not restored on restart (votedFor not durable), so a restarted node can vote twice.",
    caughtBy: "election safety (two leaders in one term)",
  },
  {
    name: "append-ignores-prev-term",
    file: RAFT,
    tests: RAFT_SIM,
    find: `    if (!log.matchTerm(message.prevIndex, message.prevTerm)) {`,
    replace: `    if (log.lastIndex < message.prevIndex) {`,
    description: "A follower appends without checking the term at prevIndex, only that it has an entry there.",
    caughtBy: "log matching (an entry after a predecessor of another term)",
  },
  {
    name: "conflicts-not-truncated",
    file: RAFT_LOG,
    tests: RAFT_SIM,
    find: `      if (existing === entry.term) continue;`,
    replace: `      if (existing !== undefined) continue;`,
    description: "A follower keeps its conflicting entries instead of replacing them by the leader's.",
    caughtBy: "log matching / state machine safety",
  },
  {
    name: "follower-commits-past-new-entries",
    file: RAFT,
    tests: RAFT_SIM,
    find: `    this.#commitTo(Math.min(message.commit, lastNew));`,
    replace: `    this.#commitTo(Math.min(message.commit, log.lastIndex));`,
    description:
      "A follower commits up to the leader's commit on its own log, beyond the last entry the append vouched for.",
    caughtBy: "state machine safety (a stale suffix applied)",
  },
  {
    name: "heartbeat-commit-past-match",
    file: RAFT,
    tests: RAFT_SIM,
    find: `      const commit = Math.min(progress.match, this.log.committed);`,
    replace: `      const commit = this.log.committed;`,
    description: "Heartbeats carry the leader's whole commit index, not bounded by what the follower matches.",
    caughtBy: "state machine safety (a follower applies its stale suffix)",
  },
  {
    name: "quorum-of-half",
    file: RAFT,
    tests: RAFT_SIM,
    find: `    return Math.floor(this.members.length / 2) + 1;`,
    replace: `    return Math.ceil(this.members.length / 2);`,
    description: "The quorum is half the voters rounded up: right for odd sizes, one short for four voters.",
    caughtBy: "election safety / state machine safety (two disjoint halves of a four-voter cluster)",
  },
  {
    name: "stale-append-accepted",
    file: RAFT,
    tests: RAFT_SIM,
    find: `        this.#send({ type: "preVoteResp", to: message.from, granted: false });
      }
      return;`,
    replace: `        this.#send({ type: "preVoteResp", to: message.from, granted: false });
      }
      if (message.type !== "append") return;`,
    description: "Appends from a leader of an older term are taken (after telling it about the newer term).",
    caughtBy: "leader completeness / state machine safety",
  },
  {
    name: "leader-ignores-higher-term",
    file: RAFT,
    tests: RAFT_SIM,
    find: `        this.#becomeFollower(message.term, fromLeader ? message.from : null);`,
    replace:
      `        if (this.role !== "leader") this.#becomeFollower(message.term, fromLeader ? message.from : null);`,
    description: "A leader that sees a higher term keeps leading its old term.",
    caughtBy: "liveness (a deposed leader keeps taking proposals it can never commit)",
  },
  {
    name: "membership-changes-overlap",
    file: RAFT,
    tests: RAFT_SIM,
    find: `    if (this.#pendingMembershipIndex > this.log.applied) {`,
    replace: `    if (this.#pendingMembershipIndex > this.log.lastIndex) {`,
    description: "A second membership change is proposed before the first one is applied.",
    caughtBy: "election safety / state machine safety (two majorities that do not overlap)",
  },
  {
    name: "snapshot-not-handed-out",
    file: RAFT,
    tests: RAFT_SIM,
    find: `      log.restore(snapshot);
      this.#pendingSnapshot = snapshot;`,
    replace: `      log.restore(snapshot);`,
    description:
      "A follower installs the leader's snapshot in its log but never hands it out in Ready: not stored, not restored into the state machine.",
    caughtBy: "linearizability (the follower's state lacks the snapshot) / state machine safety after a restart",
  },
  {
    name: "snapshot-keeps-old-entries",
    file: RAFT_LOG,
    tests: RAFT_SIM,
    find: `    this.snapshot = snapshot;
    this.entries = [];
    this.committed = snapshot.index;`,
    replace: `    this.snapshot = snapshot;
    this.committed = snapshot.index;`,
    description: "Installing a leader's snapshot keeps the old entries, now shifted to the wrong indices.",
    caughtBy: "log matching / state machine safety; the driver's loop spinning on it is stopped as a failure",
  },
  {
    name: "vote-before-fsync",
    file: DRIVER,
    tests: DRIVER_SIM,
    find: `LEADER_MESSAGES.has(message.type) && raft.role === "leader");`,
    replace: `(LEADER_MESSAGES.has(message.type) && raft.role === "leader") || message.type === "voteResp");`,
    description: "The driver sends a vote before the vote (and term) it promises is synced.",
    caughtBy: "driver simulation: election safety (a crash between the reply and the sync lets the node vote again)",
  },
  {
    name: "ack-before-fsync",
    file: DRIVER,
    tests: DRIVER_SIM,
    find: `LEADER_MESSAGES.has(message.type) && raft.role === "leader");`,
    replace: `(LEADER_MESSAGES.has(message.type) && raft.role === "leader") || message.type === "appendResp");`,
    description: "The driver acknowledges appended entries before they are synced.",
    caughtBy: "driver simulation: state machine safety (a committed entry lost in a crash)",
  },
  {
    name: "pbft-quorum-of-2f",
    file: PBFT_MEMBERSHIP,
    tests: PBFT_SIM,
    find: `    this.quorum = Math.ceil((members.length + this.f + 1) / 2);`,
    replace: `    this.quorum = Math.max(1, 2 * this.f);`,
    description: "PBFT's quorums are 2f instead of 2f + 1, so two quorums need not share a correct replica.",
    caughtBy: "PBFT simulation: agreement (two correct replicas execute different batches at one sequence)",
  },
  {
    name: "pbft-view-change-drops-certificates",
    file: PBFT,
    tests: PBFT_SIM,
    find: `      if (certificate && sequence > this.#stable.sequence) prepared.push(certificate);`,
    replace: `      if (certificate && sequence > this.#stable.sequence && sequence < 0) prepared.push(certificate);`,
    description: "A view change carries no prepared certificates, so the new view may reassign a committed sequence.",
    caughtBy: "PBFT simulation: agreement / linearizability after a view change",
  },
  {
    name: "pbft-commit-without-prepared-certificate",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (matching.length < this.membership.quorum - 1) return;`,
    replace: `    if (matching.length < 0) return;`,
    description: "A replica sends its commit on the pre-prepare alone, without 2f matching prepares.",
    caughtBy: "PBFT simulation: agreement (an equivocating primary gets two batches committed at one sequence)",
  },
  {
    name: "pbft-request-signature-unchecked",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (!own && !this.#config.verifier.verify(signer, requestSigningBytes(request), request.signature)) {`,
    replace: `    if (false) {`,
    description: "Client requests are taken without checking their signature (an unchecked authenticator).",
    caughtBy: "PBFT simulation: validity (a request no client issued executes)",
  },
  {
    name: "pbft-pre-prepare-signature-unchecked",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (!this.#config.verifier.verify(primary, signed, prePrepare.signature)) {`,
    replace: `    if (false) {`,
    description: "A backup takes a pre-prepare without checking that the primary signed it.",
    caughtBy: "PBFT simulation: integrity of the order (a forger's batch commits in a correct primary's view)",
  },
  {
    name: "pbft-prepare-signature-unchecked",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (!this.#config.verifier.verify(prepare.replica, prepareSigningBytes(prepare), prepare.signature)) {`,
    replace: `    if (false) {`,
    description: "Prepares are counted without checking their signature: a forger votes in others' names.",
    caughtBy: "PBFT simulation: liveness (certificates of forged prepares make view changes fail)",
  },
  {
    name: "pbft-primary-counted-as-backup",
    file: PBFT,
    tests: PBFT_SIM,
    find:
      `    if (!this.membership.has(prepare.replica) || prepare.replica === this.primary || prepare.replica === this.id) {`,
    replace: `    if (!this.membership.has(prepare.replica) || prepare.replica === this.id) {`,
    description: "The primary's own prepare counts towards the 2f prepares that only backups may give.",
    caughtBy: "PBFT simulation: agreement / liveness (an equivocating primary that also votes)",
  },
  {
    name: "pbft-checkpoint-stable-on-f-plus-one",
    file: PBFT,
    tests: PBFT_SIM,
    find: `      if (proof.length >= this.membership.quorum) {`,
    replace: `      if (proof.length >= this.membership.weak) {`,
    description: "A checkpoint becomes stable on f + 1 matching checkpoints instead of 2f + 1.",
    caughtBy: "PBFT simulation: liveness (view changes and state transfers carry proofs others refuse)",
  },
  {
    name: "pbft-catch-up-on-one-claim",
    file: PBFT,
    tests: PBFT_SIM,
    find: `      if (agreeing >= this.membership.weak) {`,
    replace: `      if (agreeing >= 1) {`,
    description: "A replica that is behind executes a batch one replica claims committed, not f + 1.",
    caughtBy: "PBFT simulation: agreement (a forger's fake batch executes on a lagging replica)",
  },
  {
    name: "pbft-view-change-unchecked",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (problem) return this.#reject(from, "bad-certificate");`,
    replace: `    if (problem && false) return this.#reject(from, "bad-certificate");`,
    description: "View changes are taken without checking signatures, proofs and certificates.",
    caughtBy: "PBFT simulation: liveness (forged view changes make new views that others refuse)",
  },
  {
    name: "pbft-new-view-unchecked",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (checkNewView(newView, this.#context)) return this.#reject(from, "bad-certificate");`,
    replace: ``,
    description: "A new view is entered without checking its view changes and the pre-prepares they imply.",
    caughtBy: "PBFT simulation: agreement / integrity (a stale or forged new view reassigns sequences)",
  },
  {
    name: "pbft-state-unchecked",
    file: PBFT,
    tests: PBFT_SIM,
    find: `    if (checkStable(stable, this.#context) || !sameDigest(sha256(snapshot), stable.stateDigest)) {`,
    replace: `    if (false) {`,
    description: "A transferred state is restored without checking it against its checkpoint proof.",
    caughtBy: "PBFT simulation: agreement (a lying replica's state is taken)",
  },
  {
    name: "pbft-restart-prepares-in-crash-view",
    file: PBFT,
    tests: ["tests/plugins/consensus_pbft_test.ts"],
    find: `    return this.#view > this.#sitOut.view || sequence > this.#sitOut.upTo;`,
    replace: `    return true;`,
    description:
      "A restarted backup prepares in the view it crashed in, though its own prepares there may not have reached its disk: it can contradict one it sent and forgot.",
    caughtBy: "PBFT tests: a restarted backup sends a second, different prepare for one view and sequence",
  },
  {
    name: "pbft-restart-primary-orders-in-crash-view",
    file: PBFT,
    tests: ["tests/plugins/consensus_pbft_test.ts"],
    find: `      if (this.leading) this.#startViewChange(this.#view + 1);`,
    replace: ``,
    description:
      "A primary restarted in its own view does not start a view change; it cannot order there (its pre-prepares may be lost), so the view waits for the backups' timeouts.",
    caughtBy: "PBFT tests: a restarted primary starts a view change at once",
  },
  {
    name: "adaptive-sealed-proposals-dropped",
    file: ADAPTIVE,
    tests: ADAPTIVE_SIM,
    find: `        if (answer === SEALED) {
          uncertainIn = epoch.number;
          if (trace) trace.uncertain = true;
          continue;
        }`,
    replace: `        if (answer === SEALED) {
          return { kind: "command", outcome: { ok: true, committed: { index: 0, term: 0, result: undefined as Result } } };
        }`,
    description:
      "Proposals still pending when their epoch seals (they will never commit there) are answered as committed instead of being proposed again in the next epoch: they are lost.",
    caughtBy: "adaptive tests: an acknowledged write missing from every replica (linearizability in the simulation)",
  },
  {
    name: "adaptive-handover-without-client-table",
    file: EPOCH_MACHINE,
    tests: ADAPTIVE_SIM,
    find: `    const app = this.#options.app.snapshot();`,
    replace: `    const app = this.#options.app.machine.snapshot();`,
    description:
      "The handover (and the epoch's snapshots) carry the application's state without the client table, so the next epoch cannot tell a command proposed again from a new one.",
    caughtBy:
      "adaptive simulation: exactly once / liveness (re-proposed commands apply again or are refused as unknown clients)",
  },
  {
    name: "adaptive-switch-at-different-indices",
    file: ADAPTIVE,
    tests: ADAPTIVE_SIM,
    find: `      baseIndex: handover?.nextBaseIndex ?? 0,`,
    replace: `      baseIndex: (handover?.nextBaseIndex ?? 0) + (this.#options.id === "n1" && handover ? 1 : 0),`,
    description:
      "One replica starts each new epoch one entry later than the others: the switch applies at different indices.",
    caughtBy: "adaptive simulation: state machine safety (different commands at one index of the adaptive log)",
  },
  {
    name: "adaptive-reproposed-twice",
    file: ADAPTIVE,
    tests: ADAPTIVE_SIM,
    find: `      const entry = encodeEntry({ kind: "command", bytes: encodeClientCommand(command, request) });`,
    replace: `      const entry = encodeEntry({ kind: "command", bytes: encodeClientCommand(command) });`,
    description:
      "Commands enter the adaptive log without their client identity, so one proposed again (after an unknown outcome, or in the next epoch) executes again.",
    caughtBy: "adaptive simulation: exactly once (one command applied twice)",
  },
  {
    name: "raft-first-term-sends-before-sync",
    file: DRIVER,
    tests: ["tests/plugins/consensus_raft_driver_test.ts"],
    find: `    const early = this.#firstTermUnsaved
      ? []
      : ready.messages`,
    replace: `    const early = false
      ? []
      : ready.messages`,
    description:
      "A first leader (leadFirstTerm) sends its first term's appends while they are still being written, as leaders may later: after a crash its empty log would lead term 1 again with other entries.",
    caughtBy: "raft driver test: nothing of the first term leaves before its entries are on disk",
  },
];
