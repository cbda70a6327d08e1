import DeliveryCore
import DeliveryMessages
import Foundation
import ServiceKit
import Testing
import ZeroMQ

/// The one Clone client: its snapshot fetch as a state machine, and the client over `inproc://`
/// against a ROUTER that answers as a replica would (and as one that is busy first).
@Suite struct CloneClientTests {
    static let chunked = SnapshotFetch.Policy(timeoutMillis: 1000, firstPause: 50, longestPause: 400, chunked: true)

    static func part(_ part: Int, last: Bool, records: [FigureRecord], id: String, total: Int? = nil) throws -> (WireMessage, [UInt8]) {
        let head = SnapshotPart(part: part, last: last, figures: records.count, positions: ["agg": 9], upstream: ["i": 2], catalog: nil, total: total)
        let json = try Wire.encode(Envelope(MessageType.snapshotPart, id: .string(id), body: head))
        guard case .success(let decoded) = Wire.parse(json) else { throw CloneError("head") }
        return (decoded, FigureList.encode(records))
    }

    @Test func partsInOrderInstallTogether() throws {
        let (records, _) = try ReplicaCoreTests.records()
        var fetch = SnapshotFetch(policy: Self.chunked)
        #expect(fetch.due(now: 0))
        fetch.sent(id: "q-1", now: 0)
        #expect(!fetch.due(now: 0) && fetch.isAsking)
        // Another request's reply is not this one's.
        let stray = try Self.part(0, last: false, records: records, id: "q-0")
        guard case .nothing = fetch.take(stray.0, attachment: stray.1, now: 1) else { Issue.record("took a stray"); return }
        let first = try Self.part(0, last: false, records: Array(records.prefix(1)), id: "q-1")
        guard case .nothing = fetch.take(first.0, attachment: first.1, now: 900) else { Issue.record("installed early"); return }
        // A part keeps the request alive: 1000 ms from the last part, not from the asking.
        let expiredEarly = fetch.expire(now: 1500)
        #expect(!expiredEarly)
        let second = try Self.part(1, last: true, records: Array(records.dropFirst()), id: "q-1")
        guard case .installed(let snapshot) = fetch.take(second.0, attachment: second.1, now: 1600) else {
            Issue.record("not installed")
            return
        }
        #expect(snapshot.stream == "agg" && snapshot.position == 9 && snapshot.upstream == ["i": 2] && snapshot.tookMillis == 1600)
        if case .records(let got) = snapshot.figures { #expect(Array(got.joined()) == records) } else { Issue.record("not records") }
        #expect(!fetch.due(now: 2000))
        fetch.want()
        #expect(fetch.due(now: 2000))
    }

    /// With `handsOutParts` (a first load), each part but the last is handed out as it comes, the
    /// first with the whole snapshot's total, and the snapshot carries the rest and how many came
    /// before; a part out of order after them is refused like any other.
    @Test func partsHandedOutAsTheyComeForAFirstLoad() throws {
        let (records, _) = try ReplicaCoreTests.year(withSecondBrand: true)
        let cut = records.count / 2
        var fetch = SnapshotFetch(policy: Self.chunked)
        fetch.handsOutParts = true
        fetch.sent(id: "q-1", now: 0)
        // The mode is the request's: changing it now does not change this one.
        fetch.handsOutParts = false
        let first = try Self.part(0, last: false, records: Array(records[..<cut]), id: "q-1", total: records.count)
        guard case .part(let got, let total) = fetch.take(first.0, attachment: first.1, now: 10) else {
            Issue.record("the first part was not handed out")
            return
        }
        #expect(got == Array(records[..<cut]) && total == records.count)
        let second = try Self.part(1, last: true, records: Array(records[cut...]), id: "q-1", total: records.count)
        guard case .installed(let snapshot) = fetch.take(second.0, attachment: second.1, now: 20) else {
            Issue.record("not installed")
            return
        }
        #expect(snapshot.handedOut == cut && snapshot.stream == "agg" && snapshot.position == 9)
        if case .records(let rest) = snapshot.figures { #expect(Array(rest.joined()) == Array(records[cut...])) } else { Issue.record("not records") }

        fetch.handsOutParts = true
        fetch.want()
        fetch.sent(id: "q-2", now: 30)
        let again = try Self.part(0, last: false, records: Array(records[..<cut]), id: "q-2")
        guard case .part(_, nil) = fetch.take(again.0, attachment: again.1, now: 31) else {
            Issue.record("not handed out")
            return
        }
        let skipped = try Self.part(2, last: true, records: records, id: "q-2")
        guard case .refused = fetch.take(skipped.0, attachment: skipped.1, now: 32) else {
            Issue.record("a part out of order was taken")
            return
        }
    }

    /// Over inproc: three parts waiting on the socket are taken one a turn with `limit: 1`, the
    /// first two handed out, the third installing the snapshot.
    @Test func repliesAreTakenAtMostLimitATurn() throws {
        let (records, _) = try ReplicaCoreTests.year(withSecondBrand: true)
        let context = try Context()
        defer { context.terminate() }
        let router = try Socket(context, .router)
        defer { router.close() }
        try router.set([.linger(0), .receiveTimeout(5000)])
        try router.bind("inproc://clone-limit")
        let client = try RequestClient(context: context, endpoints: ["inproc://clone-limit"])
        defer { client.close() }
        let clone = CloneClient(endpoint: "inproc://clone-limit", client: client, request: SnapshotRequest(prefix: "", chunk: 100), policy: Self.chunked)
        clone.handsOutParts = true
        _ = try clone.tend(now: monotonicMillis())
        let request = try #require(try router.receive())
        guard case .success(let head) = Wire.parse(request[request.count - 1]).map(\.head) else { Issue.record("no request"); return }
        guard case .string(let id) = head.id else { Issue.record("no id"); return }
        for part in 0..<3 {
            let (reply, attachment) = try Self.part(part, last: part == 2, records: [records[part]], id: id)
            try router.send(Array(request.dropLast()) + [reply.bytes, attachment])
        }
        var kinds: [String] = []
        let deadline = monotonicMillis() + 5000
        while kinds.count < 3, monotonicMillis() < deadline {
            _ = try Poller([client.pollable]).poll(timeoutMilliseconds: 100)
            let outcomes = clone.takeReplies(now: monotonicMillis(), limit: 1)
            #expect(outcomes.count <= 1)
            for outcome in outcomes {
                switch outcome {
                case .part: kinds.append("part")
                case .installed(let snapshot): kinds.append("installed \(snapshot.handedOut)")
                case .nothing, .refused: kinds.append("other")
                }
            }
        }
        #expect(kinds == ["part", "part", "installed 2"])
    }

    @Test func aMissingPartPausesLongerEachTimeAndATimeoutAsksAgain() throws {
        let (records, _) = try ReplicaCoreTests.records()
        var fetch = SnapshotFetch(policy: Self.chunked)
        var pauses: [Int64] = []
        var logged: [Bool] = []
        var now: Int64 = 0
        for round in 0..<6 {
            fetch.sent(id: "q-\(round)", now: now)
            let skipped = try Self.part(1, last: true, records: records, id: "q-\(round)")
            guard case .refused(_, let log) = fetch.take(skipped.0, attachment: skipped.1, now: now) else {
                Issue.record("a part out of order was taken")
                return
            }
            logged.append(log)
            // A resync while pausing does not cut the pause short.
            fetch.want()
            var wait: Int64 = 0
            while !fetch.due(now: now + wait) { wait += 1 }
            pauses.append(wait)
            now += wait
        }
        #expect(pauses == [50, 100, 200, 400, 400, 400])
        #expect(logged == [true, true, false, true, false, false])
        fetch.sent(id: "late", now: now)
        let early = fetch.expire(now: now + 1000)
        let late = fetch.expire(now: now + 1001)
        #expect(!early && late)
        #expect(fetch.due(now: now + 1001))
    }

    /// Over inproc: a ROUTER that first answers `busy`, then a whole snapshot; `fetchNow` waits the
    /// pause out and returns it, and the follower then applies only what is newer.
    @Test func fetchNowRidesOutABusyReplyOverInproc() throws {
        let context = try Context()
        defer { context.terminate() }
        nonisolated(unsafe) let router = try Socket(context, .router)
        defer { router.close() }
        try router.set(.linger(0))
        try router.bind("inproc://clone-test")
        let served = Thread {
            var answered = 0
            while answered < 2, let frames = try? router.receive(wait: true) {
                guard frames.count >= 2, case .success(let head) = Wire.parse(frames[frames.count - 1]).map(\.head) else { continue }
                let reply: [UInt8]
                if answered == 0 {
                    reply = (try? Wire.encode(busy("one at a time", id: head.id, retryAfterMs: 10).envelope)) ?? []
                } else {
                    let body = SnapshotResult(figures: [], positions: ["query-1": 41], upstream: ["i": 3], catalog: nil)
                    reply = (try? Wire.encode(Envelope(MessageType.snapshotResult, id: head.id, body: body))) ?? []
                }
                try? router.send(Array(frames.dropLast()) + [reply])
                answered += 1
            }
        }
        served.start()
        let client = try RequestClient(context: context, endpoints: ["inproc://clone-test"])
        defer { client.close() }
        let clone = CloneClient(
            endpoint: "inproc://clone-test", client: client, request: SnapshotRequest(prefix: "figure."),
            policy: SnapshotFetch.Policy(timeoutMillis: 5000, firstPause: 20, longestPause: 100, chunked: false)
        )
        let snapshot = try clone.fetchNow(timeoutMillis: 5000)
        #expect(snapshot.stream == "query-1" && snapshot.position == 41 && snapshot.upstream == ["i": 3])
        #expect(clone.follower.position == 41)
        #expect(clone.take(stream: "query-1", seq: 41, heartbeat: true) == .skip)
        #expect(clone.take(stream: "query-1", seq: 42, heartbeat: false) == .apply)
        // A gap: the follower resyncs and the fetch wants a new snapshot.
        guard case .resync = clone.take(stream: "query-1", seq: 44, heartbeat: false) else {
            Issue.record("a gap did not resync")
            return
        }
        #expect(clone.fetch.due(now: monotonicMillis()))
    }
}
