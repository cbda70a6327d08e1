import DeliveryCore
import DeliveryMessages
import Logging
import ServiceCores
import ServiceKit
import Testing

/// The replica's core and its parts driven directly: the wait queue, the snapshot allowance, and
/// snapshots and batches in, publications out.
@Suite struct ReplicaCoreTests {
    @Test func theWaitQueueAnswersInOrderAndTimesOut() {
        var queue = WaitQueue<String>(countLimit: 3, byteLimit: 100)
        let added = [
            queue.add("q1", after: ["s": 5], timeoutMillis: 1000, bytes: 40, now: 0),
            queue.add("q2", after: ["s": 9], timeoutMillis: 100_000, bytes: 40, now: 0),
            // Past the byte limit: refused, nothing held.
            queue.add("q3", after: [:], timeoutMillis: nil, bytes: 21, now: 0),
            queue.add("q3", after: ["t": 1], timeoutMillis: -5, bytes: 20, now: 0),
            // Past the count limit.
            queue.add("q4", after: [:], timeoutMillis: nil, bytes: 0, now: 0),
        ]
        #expect(added == [true, true, false, true, false])
        #expect(queue.bytes == 100)
        let positions: [String: UInt64] = ["s": 6]
        // Not loaded yet: q3's deadline (clamped to now) has passed, so it is unavailable.
        let first = queue.due(now: 0, ready: false) { Positions.reached($0, asOf: positions) }
        #expect(first.count == 1)
        if case .unavailable(let item)? = first.first { #expect(item == "q3") } else { Issue.record("q3 not unavailable: \(first)") }
        // Loaded: q1 is reached; q2 waits (its time-out was clamped to 60 s).
        let second = queue.due(now: 10, ready: true) { Positions.reached($0, asOf: positions) }
        if case .answer(let item)? = second.first, second.count == 1 { #expect(item == "q1") } else { Issue.record("\(second)") }
        let none = queue.due(now: 59_999, ready: true) { Positions.reached($0, asOf: positions) }
        #expect(none.isEmpty)
        let third = queue.due(now: 60_000, ready: true) { Positions.reached($0, asOf: positions) }
        if case .stale(let item)? = third.first { #expect(item == "q2") } else { Issue.record("\(third)") }
        #expect(queue.isEmpty && queue.bytes == 0)
    }

    @Test func theAllowanceGivesABurstThenOneASecondPerClient() {
        var allowance = SnapshotAllowance<String>(burst: 5, clientLimit: 2)
        for _ in 0..<5 {
            #expect(allowance.wait(for: "a", now: 1000) == nil)
            allowance.take(for: "a", now: 1000)
        }
        #expect(allowance.wait(for: "a", now: 1000) == 1000)
        #expect(allowance.wait(for: "a", now: 1600) == 400)
        #expect(allowance.wait(for: "a", now: 2000) == nil)
        // Another client has its own burst.
        #expect(allowance.wait(for: "b", now: 1000) == nil)
        allowance.take(for: "b", now: 1000)
        allowance.take(for: "c", now: 30_000)
        // Past the limit, clients not heard from for 10 s are forgotten.
        #expect(allowance.clients == 1)
    }

    static func records() throws -> (records: [FigureRecord], catalog: CatalogDocument) {
        var core = AggregateCore(groups: [])
        let put = AggregateCoreTests.put(["g1"], brands: [("b1", "g1"), ("b2", "g1")])
        core.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(put)))
        core.apply(StreamEvent(stream: "i", seq: 2, content: .report(AggregateCoreTests.report("r1", brand: "b1", group: "g1", units: 300))))
        return (core.book.figureIDs.compactMap(core.book.record), put)
    }

    static func snapshot(_ records: [FigureRecord], catalog: CatalogDocument?, stream: String = "agg-1", position: UInt64 = 7) -> Snapshot {
        Snapshot(stream: stream, position: position, upstream: ["i": 2], catalog: catalog, figures: .records([records]), tookMillis: 1)
    }

    @Test func aFirstLoadIsQuietAResyncPublishesWhatChanged() throws {
        let (records, catalog) = try Self.records()
        var core = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        #expect(core.install(Self.snapshot(records, catalog: catalog), origin: 0, resync: false).isEmpty)
        #expect(core.replica.count == records.count)
        #expect(core.asOf(streams: ["agg-1": 7]) == ["i": 2, "agg-1": 7])
        // The aggregate's new state has none of them: each goes out as removed.
        let out = core.install(Self.snapshot([], catalog: catalog, stream: "agg-2"), origin: 0, resync: true)
        #expect(out.count == records.count)
        #expect(out.allSatisfy { if case .figure(let change) = $0 { change.removed } else { false } })
    }

    /// A year of two brands' months, and a second state of it without the second brand.
    static func year(withSecondBrand: Bool) throws -> (records: [FigureRecord], catalog: CatalogDocument) {
        var core = AggregateCore(groups: [])
        let put = AggregateCoreTests.put(["g1"], brands: [("b1", "g1"), ("b2", "g1")])
        core.apply(StreamEvent(stream: "i", seq: 1, content: .catalog(put)))
        var seq: UInt64 = 1
        for month in 1...12 {
            for brand in withSecondBrand ? ["b1", "b2"] : ["b1"] {
                seq += 1
                let report = AggregateCoreTests.report(
                    "\(brand)-\(month)", brand: brand, group: "g1", units: Int64(100 * month), period: String(format: "2025-%02d", month)
                )
                core.apply(StreamEvent(stream: "i", seq: seq, content: .report(report)))
            }
        }
        return (core.book.figureIDs.compactMap(core.book.record), put)
    }

    /// A first load installed part by part while the rest is on its way holds what the whole
    /// snapshot installed at once holds; a load that stopped half-way is replaced whole by the
    /// next snapshot (no ghosts of the parts it had), and that one is not taken part by part.
    @Test func aFirstLoadPartByPartEqualsAWholeOneAndAStoppedOneLeavesNoGhosts() throws {
        let (records, catalog) = try Self.year(withSecondBrand: true)
        var whole = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        _ = whole.install(Self.snapshot(records, catalog: catalog), origin: 0, resync: false)

        var parted = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        #expect(parted.installsPartByPart(origin: 0, loaded: false))
        let cut = records.count / 3
        parted.installPart(Array(records[..<cut]), origin: 0, total: records.count)
        parted.installPart(Array(records[cut..<(2 * cut)]), origin: 0, total: nil)
        let rest = Snapshot(
            stream: "agg-1", position: 7, upstream: ["i": 2], catalog: catalog, figures: .records([Array(records[(2 * cut)...])]), tookMillis: 1,
            handedOut: 2 * cut
        )
        #expect(parted.install(rest, origin: 0, resync: false).isEmpty)
        #expect(parted.replica.count == whole.replica.count)
        #expect(parted.replica.figures(prefix: "") == whole.replica.figures(prefix: ""))
        #expect(parted.partlyLoaded.isEmpty)

        // Stopped half-way: the parts of the state with both brands are in, then the aggregate's
        // state without b2 comes whole.
        var stopped = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        stopped.installPart(records, origin: 0, total: records.count)
        #expect(!stopped.installsPartByPart(origin: 0, loaded: false))
        let (without, _) = try Self.year(withSecondBrand: false)
        _ = stopped.install(Self.snapshot(without, catalog: catalog), origin: 0, resync: false)
        var fresh = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        _ = fresh.install(Self.snapshot(without, catalog: catalog), origin: 0, resync: false)
        #expect(stopped.replica.count == fresh.replica.count)
        #expect(stopped.replica.figures(prefix: "") == fresh.replica.figures(prefix: ""))
        #expect(!stopped.replica.figures(prefix: "").contains { $0.entity.id == "b2" })
        #expect(stopped.installsPartByPart(origin: 0, loaded: false) && !stopped.installsPartByPart(origin: 0, loaded: true))
        // A total on the wire reserves within the limit.
        var lied = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        lied.installPart(Array(records.prefix(2)), origin: 0, total: Int.max)
        var plain = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        plain.installPart(Array(records.prefix(2)), origin: 0, total: nil)
        #expect(lied.replica.figures(prefix: "") == plain.replica.figures(prefix: ""))
    }

    @Test func aBatchPublishesFiguresThenReportsAndEachCatalogPutOnce() throws {
        let (records, catalog) = try Self.records()
        var core = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1 << 20)
        _ = core.install(Self.snapshot([], catalog: catalog), origin: 0, resync: false)
        let put = CatalogAcceptedEvent(catalog: catalog, stream: "i", seq: 1)
        let accepted = ReportAcceptedEvent(report: AggregateCoreTests.report("r1", brand: "b1", group: "g1", units: 300), stream: "i", seq: 2)
        let batch = FigureBatch(upstream: ["i": 2], catalogs: [put], reports: [accepted], figures: records)
        let frames = [Array("batch.".utf8), [], try batch.encoded()]
        let out = core.apply(frames: frames, stream: "agg-1", seq: 8, origin: 0)
        let kinds = out.map { publication -> String in
            switch publication {
            case .figure: "figure"
            case .catalog: "catalog"
            case .report: "report"
            case .fact: "fact"
            case .batch: "batch"
            }
        }
        #expect(kinds == Array(repeating: "figure", count: records.count) + ["catalog", "report"])
        #expect(core.ingestPositions == ["i": 2])
        // A second shard's copy of the same put is not announced again.
        let again = core.apply(frames: [frames[0], [], try FigureBatch(upstream: [:], catalogs: [put], reports: [], figures: []).encoded()], stream: "agg-2", seq: 1, origin: 1)
        #expect(again.isEmpty)
        // A batch that does not read is set aside, not applied.
        #expect(core.apply(frames: [frames[0], [], [0xFF, 0x01]], stream: "agg-1", seq: 9, origin: 0).isEmpty)
        #expect(core.setAsideLog.count == 1)
    }

    @Test func heldBatchesComeBackInSeqOrderWithinTheLimit() {
        var core = ReplicaCore<Int>(factHistory: 1000, maxWaitingBytes: 1)
        for seq in [5, 3, 4] as [UInt64] { core.hold(stream: "s", seq: seq, frames: [[UInt8(seq)]]) }
        #expect(core.bufferedCount == 3)
        #expect(core.takeHeld(stream: "s").map(\.seq) == [3, 4, 5])
        #expect(core.bufferedCount == 0)
        #expect(core.takeHeld(stream: "s").isEmpty)
    }

    @Test func requestSetsNameTheirWireTypesOnce() {
        enum Requests: MessageRequestSet {
            case snapshot, status
            var messageType: MessageType { self == .snapshot ? .snapshot : .status }
        }
        #expect(Requests.served == ["snapshot", "status"])
        #expect(Requests(type: "status") == .status)
        #expect(Requests(type: "Status") == nil)
    }
}
