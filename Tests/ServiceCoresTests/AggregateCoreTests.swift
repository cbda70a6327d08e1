import DeliveryCore
import DeliveryMessages
import Logging
import ServiceCores
import Testing

/// The aggregate's core driven directly: events in, batches out, no sockets.
@Suite struct AggregateCoreTests {
    static let logger = Logger(label: "test")

    static func put(_ groups: [String], brands: [(String, String)], models: [(String, String)] = []) -> CatalogDocument {
        CatalogDocument(
            groups: groups.map { GroupEntry(id: $0, name: $0.uppercased()) },
            brands: brands.map { BrandEntry(id: $0.0, name: $0.0.uppercased(), group: $0.1) },
            models: models.map { ModelEntry(id: $0.0, name: $0.0.uppercased(), brand: $0.1) }
        )
    }

    static func report(_ id: String, brand: String, group: String, units: Int64, period: String = "2025-05") -> DeliveryReport {
        DeliveryReport(
            id: id, source: "CPCA", period: period, group: group, brand: brand, model: nil, units: units, qualifier: .exact,
            reportedAt: "2025-06-01T00:00:00Z", note: nil, entity: EntityRef(level: .brand, id: brand, name: brand, path: [group, brand])
        )
    }

    static func units(_ core: AggregateCore, brand: String, period: String = "2025-05") -> Int64? {
        core.book.keys.compactMap { core.book.body($0, previous: nil) }
            .first { $0.entity.level == .brand && $0.entity.id == brand && $0.period == period }?.units
    }

    @Test func aReportWaitsForItsCatalogThenGoesOutInOneBatch() throws {
        var core = AggregateCore(groups: [])
        core.apply(StreamEvent(stream: "a", seq: 1, content: .report(Self.report("r1", brand: "b1", group: "g1", units: 120))))
        #expect(core.waiting.count == 1)
        #expect(core.positions["a"] == 1)
        // A seq that does not follow on is ignored.
        core.apply(StreamEvent(stream: "a", seq: 5, content: .catalog(Self.put(["g1"], brands: [("b1", "g1")]))))
        #expect(core.positions["a"] == 1)
        core.apply(StreamEvent(stream: "a", seq: 2, content: .catalog(Self.put(["g1"], brands: [("b1", "g1")]))))
        #expect(core.waiting.isEmpty)
        #expect(Self.units(core, brand: "b1") == 120)
        let batches = core.flush()
        #expect(batches.count == 1)
        #expect(batches[0].reports.map(\.report.id) == ["r1"])
        #expect(batches[0].catalogs.count == 1)
        #expect(batches[0].upstream == ["a": 2])
        #expect(!batches[0].figures.isEmpty)
        // Nothing new: nothing to publish.
        #expect(core.flush().isEmpty)
    }

    @Test func unreadableAndUnusableEventsAreSetAsideAndTheStreamGoesOn() {
        var core = AggregateCore(groups: [])
        core.apply(StreamEvent(stream: "a", seq: 1, content: .unreadable(type: "report.accepted", problem: "hash mismatch")))
        core.apply(StreamEvent(stream: "a", seq: 2, content: .catalog(Self.put(["g1"], brands: [("b1", "missing-group")]))))
        #expect(core.positions["a"] == 2)
        #expect(core.setAsideLog.count == 2)
        #expect(core.setAsideLog.latest?.map(\.seq) == [2, 1])
    }

    @Test func aShardSkipsGroupsItDoesNotOwn() {
        var core = AggregateCore(groups: ["g2"])
        core.apply(StreamEvent(stream: "a", seq: 1, content: .catalog(Self.put(["g1", "g2"], brands: [("b1", "g1"), ("b2", "g2")]))))
        core.apply(StreamEvent(stream: "a", seq: 2, content: .report(Self.report("r1", brand: "b1", group: "g1", units: 5))))
        core.apply(StreamEvent(stream: "a", seq: 3, content: .report(Self.report("r2", brand: "b2", group: "g2", units: 7))))
        #expect(core.skipped == 1)
        #expect(Self.units(core, brand: "b1") == nil)
        #expect(Self.units(core, brand: "b2") == 7)
    }

    /// Two ingests put brand "x" under different groups. Whatever order the puts arrive in, the
    /// same put wins (the later in the order of puts), the conflict is named, and when the winner
    /// comes second the core asks for a rebuild, after which the answer is the same.
    @Test func catalogConflictsAreSettledTheSameWayInEitherOrder() throws {
        let first = StreamEvent(stream: "ingest-a", seq: 1, content: .catalog(Self.put(["g1", "g2"], brands: [("x", "g1")])))
        let second = StreamEvent(stream: "ingest-b", seq: 1, content: .catalog(Self.put(["g1", "g2"], brands: [("x", "g2")])))
        let reports = [
            StreamEvent(stream: "ingest-a", seq: 2, content: .report(Self.report("ra", brand: "x", group: "g1", units: 10))),
            StreamEvent(stream: "ingest-b", seq: 2, content: .report(Self.report("rb", brand: "x", group: "g2", units: 20))),
        ]
        var parents: [String] = []
        for order in [[first, second], [second, first]] {
            var core = AggregateCore(groups: [])
            let events = order + reports
            for event in events { core.apply(event) }
            if core.rebuildWanted != nil {
                core.reset()
                #expect(core.positions.isEmpty)
                for event in events { core.apply(event) }
                #expect(core.rebuildWanted == nil)
                #expect(core.rebuilds == 1)
            }
            #expect(core.catalogConflicts.count == 1)
            parents.append(try #require(core.book.catalog.brands["x"]?.group))
        }
        #expect(parents[0] == parents[1])
    }

    /// Recovery: a checkpoint taken part way, restored into a new core, plus the rest of the
    /// stream, gives the figures a full replay gives.
    @Test func checkpointPlusTailEqualsFullReplay() throws {
        var events = [StreamEvent(stream: "a", seq: 1, content: .catalog(Self.put(["g1"], brands: [("b1", "g1"), ("b2", "g1")])))]
        for index in 0..<40 {
            let report = Self.report("r\(index)", brand: index % 2 == 0 ? "b1" : "b2", group: "g1", units: Int64(index * 37), period: "2025-0\(1 + index % 6)")
            events.append(StreamEvent(stream: "a", seq: UInt64(index + 2), content: .report(report)))
        }
        var full = AggregateCore(groups: [])
        for event in events { full.apply(event) }
        var head = AggregateCore(groups: [])
        for event in events.prefix(17) { head.apply(event) }
        let saved = try BookCheckpoint(decoding: head.checkpoint.encoded())
        var restored = AggregateCore(groups: [])
        restored.restore(saved)
        #expect(restored.positions == ["a": 17])
        for event in events { restored.apply(event) }
        #expect(restored.positions == full.positions)
        #expect(restored.book.figureIDs.compactMap(restored.book.record) == full.book.figureIDs.compactMap(full.book.record))
    }
}
