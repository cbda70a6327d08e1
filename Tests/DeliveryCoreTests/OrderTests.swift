import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport

/// One answer whatever the order: reports spread over several ingest streams, applied in any
/// interleaving of the streams and through restarts (a checkpoint, then the rest in another
/// interleaving), always give the figures that the documented report order gives from scratch.
@Suite struct OrderTests {
    struct Sent {
        let report: DeliveryReport
        let stream: String
        let seq: UInt64
        var order: ReportOrder { ReportOrder(reportedAt: report.reportedAt, stream: stream, seq: seq) }
    }

    /// The documented rules, written plainly: per (entity, period, source) the report latest in
    /// the order stands; a figure is the latest standing report, else the sum of its parts; its
    /// cause is the latest report, in the order, of all it reflects.
    struct Oracle {
        let catalog: Catalog
        let sent: [Sent]

        func standing(_ entity: EntityKey, _ period: Period) -> [Sent] {
            var bySource: [String: Sent] = [:]
            for item in sent where EntityKey(item.report.entity.level, item.report.entity.id) == entity && item.report.period == period.description {
                if let held = bySource[item.report.source], held.order > item.order { continue }
                bySource[item.report.source] = item
            }
            return Array(bySource.values)
        }

        func parts(_ entity: EntityKey, _ period: Period) -> [(EntityKey, Period)] {
            switch period.kind {
            case .month: catalog.children(of: entity).map { ($0, period) }
            case .quarter, .year: period.parts.map { (entity, $0) }
            }
        }

        func units(_ entity: EntityKey, _ period: Period) -> Int64? {
            if let best = standing(entity, period).max(by: { $0.order < $1.order }) { return best.report.units }
            let values = parts(entity, period).compactMap { units($0.0, $0.1) }
            return values.isEmpty ? nil : values.reduce(0, +)
        }

        func cause(_ entity: EntityKey, _ period: Period) -> Sent? {
            let candidates = standing(entity, period) + parts(entity, period).compactMap { cause($0.0, $0.1) }
            return candidates.max(by: { $0.order < $1.order })
        }
    }

    /// Reports over three streams, with same-source revisions across streams and many ties on
    /// `reportedAt` (a few days only), so that the tie-breaks decide often.
    static func sent(seed: UInt64, catalog: Catalog) -> [Sent] {
        var random = SplitMix(state: seed)
        var seqs: [String: UInt64] = [:]
        return ShardingTests.reports(seed: seed, catalog: catalog).map { report in
            var report = report
            report.reportedAt = "2025-06-1\(Int.random(in: 1...3, using: &random))T00:00:00Z"
            let stream = ["ingest-a", "ingest-b", "ingest-c"].randomElement(using: &random)!
            seqs[stream, default: 0] += 1
            return Sent(report: report, stream: stream, seq: seqs[stream]!)
        }
    }

    /// A random interleaving of the streams, each stream's own order kept (what any follower sees).
    static func interleave(_ sent: [Sent], using random: inout SplitMix) -> [Sent] {
        var queues = Dictionary(grouping: sent, by: \.stream).mapValues { $0.sorted { $0.seq < $1.seq } }
        var out: [Sent] = []
        while let stream = queues.keys.sorted().filter({ !(queues[$0]?.isEmpty ?? true) }).randomElement(using: &random) {
            out.append(queues[stream]!.removeFirst())
        }
        return out
    }

    @Test(arguments: 1...20)
    func everyInterleavingAndRestartGivesTheDocumentedFigures(seed: UInt64) throws {
        let catalog = try ShardingTests.catalog()
        let sent = Self.sent(seed: seed, catalog: catalog)
        let oracle = Oracle(catalog: catalog, sent: sent)
        var random = SplitMix(state: seed &* 31)

        var books: [FigureBook] = []
        for _ in 0..<3 {
            // Live: one interleaving; a restart at a random point: checkpoint, load, and the rest
            // of every stream in another interleaving.
            let first = Self.interleave(sent, using: &random)
            let cut = Int.random(in: 0...first.count, using: &random)
            var book = FigureBook(catalog: catalog)
            for item in first.prefix(cut) { book.apply(item.report, stream: item.stream, seq: item.seq) }
            let saved = BookCheckpoint(book: book, groups: [], positions: [:], waiting: [], skipped: 0, setAside: 0)
            book = try BookCheckpoint(decoding: try saved.encoded()).book
            let applied = Set(first.prefix(cut).map { "\($0.stream)#\($0.seq)" })
            for item in Self.interleave(sent.filter { !applied.contains("\($0.stream)#\($0.seq)") }, using: &random) {
                book.apply(item.report, stream: item.stream, seq: item.seq)
            }
            books.append(book)
        }

        let entities = [EntityKey.market] + catalog.groups.keys.map { EntityKey(.group, $0) }
            + catalog.brands.keys.map { EntityKey(.brand, $0) } + catalog.models.keys.map { EntityKey(.model, $0) }
        let periods: [Period] = (1...7).map { .month(2025, $0) } + [.quarter(2025, 1), .quarter(2025, 2), .year(2025), .year(2024), .month(2024, 11)]
        for entity in entities {
            for period in periods {
                let units = oracle.units(entity, period)
                let cause = oracle.cause(entity, period)
                for book in books {
                    let figure = book.figure(entity, period)
                    #expect(figure?.units == units, "units of \(entity) in \(period), seed \(seed)")
                    #expect(
                        figure?.cause.map { "\($0.stream)#\($0.seq)" } == cause.map { "\($0.stream)#\($0.seq)" },
                        "cause of \(entity) in \(period), seed \(seed)"
                    )
                }
                #expect(books.allSatisfy { $0.figure(entity, period) == books[0].figure(entity, period) }, "\(entity) \(period)")
            }
        }
    }

    /// The case: CPCA 100 dated 07-01 through ingest two, then CPCA 200 dated 07-02
    /// through ingest one; in either arrival order the figure is 200.
    @Test func aRevisionThroughAnotherIngestWinsInEitherOrder() throws {
        let catalog = try ShardingTests.catalog()
        let entity = catalog.ref(EntityKey(.model, "aito-m9"))
        func report(_ units: Int64, _ day: String, _ id: String) -> DeliveryReport {
            DeliveryReport(
                id: id, source: "CPCA", period: "2025-06", group: "hima", brand: "aito", model: "aito-m9", units: units, qualifier: .exact,
                reportedAt: "2025-07-\(day)T00:00:00Z", note: nil, entity: entity
            )
        }
        let old = (report(100, "01", "a"), "ingest-two", UInt64(1))
        let new = (report(200, "02", "b"), "ingest-one", UInt64(1))
        for order in [[old, new], [new, old]] {
            var book = FigureBook(catalog: catalog)
            for (r, stream, seq) in order { book.apply(r, stream: stream, seq: seq) }
            #expect(book.figure(EntityKey(.model, "aito-m9"), .month(2025, 6))?.units == 200)
        }
    }
}
