import DeliveryMessages
import ServiceCores
import Testing

/// The cores' decisions with no sockets, clocks or logger: a replica's admission of queries and
/// snapshot requests, and what an ingest follower asks next.
@Suite struct AdmissionTests {
    static func query(_ n: Int) -> ReplicaCore<Int>.PendingQuery {
        ReplicaCore<Int>.PendingQuery(request: n, head: EnvelopeHead(type: "units", id: .int(Int64(n))), kind: .units)
    }

    @Test func aQueryIsAnsweredHeldOrRefusedAndCounted() {
        var core = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 100)
        let asOf: [String: UInt64] = ["ingest-a": 5]
        #expect(core.admit(Self.query(1), after: ["ingest-a": 5], timeoutMillis: nil, bytes: 10, ready: true, asOf: asOf, now: 0) == .answerNow)
        // Not loaded, or not at its positions: held.
        #expect(core.admit(Self.query(2), after: [:], timeoutMillis: 1000, bytes: 60, ready: false, asOf: asOf, now: 0) == .held)
        #expect(core.admit(Self.query(3), after: ["ingest-a": 6], timeoutMillis: 1000, bytes: 40, ready: true, asOf: asOf, now: 0) == .held)
        // The queue holds 100 bytes: the next is refused, named with what is waiting.
        guard case .busy(let message) = core.admit(Self.query(4), after: ["ingest-a": 6], timeoutMillis: 1000, bytes: 1, ready: true, asOf: asOf, now: 0)
        else {
            Issue.record("not refused")
            return
        }
        #expect(message.contains("2 queries (100 bytes)"))
        #expect(core.counts.busy == 1 && core.waiting.count == 2)
        // Loaded and at 6: both due, in the order they came.
        let due = core.due(now: 10, ready: true, asOf: ["ingest-a": 6])
        #expect(due.map { if case .answer(let query) = $0 { query.request } else { -1 } } == [2, 3])
        for _ in due { core.answering() }
        #expect(core.counts.answered == 2 && core.waiting.isEmpty && core.waiting.bytes == 0)
    }

    @Test func snapshotRequestsAreAdmittedWithinEachClientsAllowance() {
        var core = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 100)
        let client: [UInt8] = [1, 2, 3]
        for _ in 0..<5 {
            #expect(core.admitSnapshot(client: client, now: 1000) == nil)
            core.snapshotQueued(true, client: client, now: 1000)
        }
        #expect(core.admitSnapshot(client: client, now: 1000) == 1000)
        #expect(core.counts.busy == 1)
        // A queue that refused it counts busy and takes nothing of the allowance.
        #expect(core.admitSnapshot(client: [9], now: 1000) == nil)
        core.snapshotQueued(false, client: [9], now: 1000)
        #expect(core.counts.busy == 2)
        core.resynced()
        #expect(core.counts.resyncs == 1)
    }

    @Test func anIngestFollowerAsksItsStatusThenReplaysThenGoesLive() {
        let follower = IngestFollower(endpoint: "tcp://127.0.0.1:5555")
        guard let (first, reset) = follower.next(from: 1, now: 0, timeout: 1000) else {
            Issue.record("asks nothing")
            return
        }
        #expect(first == .status && !reset)
        follower.sent(first, id: "s-1", now: 0)
        // A request under way: nothing more until its reply or its time-out (a new socket then).
        #expect(follower.next(from: 1, now: 500, timeout: 1000) == nil)
        #expect(follower.next(from: 1, now: 1001, timeout: 1000).map { $0.reset } == true)
        follower.pending = nil
        follower.learned(stream: "ingest-a", behind: true)
        guard let (replay, _) = follower.next(from: 4, now: 2000, timeout: 1000) else {
            Issue.record("no replay asked")
            return
        }
        #expect(replay == .replay(ReplayRequest(from: 4, limit: 10_000, encoding: .binary)))
        follower.sent(replay, id: "r-1", now: 2000)
        follower.pending = nil
        follower.replayed(reachedLast: true)
        #expect(follower.caughtUp && follower.takesFeed)
        #expect(follower.next(from: 9, now: 3000, timeout: 1000) == nil)
        // A stream nobody follows on the feed: the status is asked again, once.
        follower.verifyWanted = true
        guard let (verify, _) = follower.next(from: 9, now: 3000, timeout: 1000) else {
            Issue.record("no verify")
            return
        }
        follower.sent(verify, id: "s-2", now: 3000)
        #expect(verify == .status && !follower.verifyWanted)
        // Answers that cannot be used: a pause that grows.
        follower.pending = nil
        #expect(follower.failed(now: 4000))
        #expect(follower.next(from: 9, now: 4100, timeout: 1000) == nil)
    }

    @Test func theFeedIsAppliedInOrderAndAGapAsksTheLog() {
        let follower = IngestFollower(endpoint: "tcp://127.0.0.1:5555")
        follower.learned(stream: "ingest-a", behind: false)
        #expect(follower.takesFeed)
        #expect(follower.take(.reportBatch, seq: 12, first: 11, applied: 10) == .apply)
        #expect(follower.take(.reportBatch, seq: 12, first: 11, applied: 12) == .skip)
        #expect(follower.take(.heartbeat, seq: 12, applied: 12) == .skip)
        #expect(follower.take(.catalogAccepted, seq: 13, applied: 12) == .apply)
        // A batch that does not start where the position is: the log fills the gap, and the feed
        // waits until the replay has caught up.
        #expect(follower.take(.reportBatch, seq: 20, first: 15, applied: 13) == .gap)
        #expect(follower.caughtUp && !follower.takesFeed)
        #expect(follower.take(.reportBatch, seq: 21, first: 21, applied: 20) == .gap)
        follower.replayed(reachedLast: true)
        #expect(follower.take(.reportBatch, seq: 22, first: 21, applied: 20) == .apply)
        // A head that does not read is a gap too; a heartbeat ahead is one; one behind asks status.
        #expect(follower.take(.reportBatch, seq: 23, first: nil, applied: 22) == .gap)
        follower.replayed(reachedLast: true)
        #expect(follower.take(.heartbeat, seq: 30, applied: 22) == .gap)
        follower.replayed(reachedLast: true)
        #expect(follower.take(.heartbeat, seq: 5, applied: 22) == .skip && follower.verifyWanted)
    }
}
