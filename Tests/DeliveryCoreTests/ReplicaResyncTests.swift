import DeliveryCore
import DeliveryMessages
import Testing

/// A replica that resyncs replaces what it had from that aggregate: no ghost figures.
@Suite struct ReplicaResyncTests {
    /// A book's figures as the aggregate's snapshot carries them.
    static func snapshot(_ book: FigureBook) -> [FigureRecord] {
        book.figureIDs.compactMap { book.record($0) }
    }

    @Test(arguments: 1...6)
    func aResyncedReplicaAnswersLikeAFreshOne(seed: UInt64) throws {
        let catalog = try ShardingTests.catalog()
        let reports = ShardingTests.reports(seed: seed, catalog: catalog, measures: true)
        var before = FigureBook(catalog: catalog)
        for (index, report) in reports.enumerated() { before.apply(report, stream: "ingest-1", seq: UInt64(index + 1)) }
        // The restored state: only the first half of the log.
        var after = FigureBook(catalog: catalog)
        for (index, report) in reports.prefix(reports.count / 2).enumerated() { after.apply(report, stream: "ingest-1", seq: UInt64(index + 1)) }

        var stayedUp = FigureReplica()
        stayedUp.mergeCatalog(catalog.document)
        for record in Self.snapshot(before) { stayedUp.receive(record, reporting: false) }
        let changes = stayedUp.replace(origin: 0, with: Self.snapshot(after))

        var fresh = FigureReplica()
        fresh.mergeCatalog(catalog.document)
        for record in Self.snapshot(after) { fresh.receive(record, reporting: false) }

        #expect(stayedUp.count == fresh.count, "seed \(seed)")
        #expect(stayedUp.figures(prefix: "") == fresh.figures(prefix: ""), "seed \(seed)")
        // Every figure the restore took away was announced as removed.
        let removed = Set(changes.filter(\.removed).map(\.key))
        for key in before.keys where after.figure(key.entity, key.period, key.measure) == nil {
            #expect(removed.contains(key), "\(key.entity) \(key.period) \(key.measure) vanished without a removal, seed \(seed)")
        }
        #expect(removed.allSatisfy { fresh.figure($0.entity, $0.period, $0.measure) == nil })
    }

    /// Room reserved before a first load (once empty, once holding figures, so the index is made
    /// again with its keys in it) changes nothing a query sees.
    @Test(arguments: 1...3)
    func roomReservedFirstAnswersTheSame(seed: UInt64) throws {
        let catalog = try ShardingTests.catalog()
        var book = FigureBook(catalog: catalog)
        for (index, report) in ShardingTests.reports(seed: seed, catalog: catalog).enumerated() { book.apply(report, stream: "ingest-1", seq: UInt64(index + 1)) }
        let records = Self.snapshot(book)
        var plain = FigureReplica()
        plain.mergeCatalog(catalog.document)
        for record in records { plain.receive(record, reporting: false) }
        for heldFirst in [0, records.count / 3] {
            var reserved = FigureReplica()
            reserved.mergeCatalog(catalog.document)
            for record in records.prefix(heldFirst) { reserved.receive(record, reporting: false) }
            reserved.reserveCapacity(records.count * 4)
            for record in records.dropFirst(heldFirst) { reserved.receive(record, reporting: false) }
            #expect(reserved.count == plain.count, "seed \(seed), \(heldFirst) held first")
            #expect(reserved.figures(prefix: "") == plain.figures(prefix: ""), "seed \(seed), \(heldFirst) held first")
            for key in book.keys { #expect(reserved.figure(key.entity, key.period) == plain.figure(key.entity, key.period)) }
        }
    }
}
