import DeliveryCore
import DeliveryMessages
import Foundation
import Testing
import TestSupport

/// Aggregate shards that split the groups, and a replica that follows them all: every figure the
/// replica holds, the market's included, equals the figure of one aggregate that owns everything.
@Suite struct ShardingTests {
    /// The sample's catalog plus two more groups, so that shards have something to split.
    static func catalog() throws -> Catalog {
        var catalog = try Catalog(Sample.load().catalog)
        let more = """
            {"groups": [{"id": "nw", "name": "Northwind"}, {"id": "solo", "name": "Solo Motors"}],
             "brands": [{"id": "nw-a", "name": "NW A", "group": "nw"}, {"id": "nw-b", "name": "NW B", "group": "nw"},
                        {"id": "solo", "name": "Solo", "group": "solo"}],
             "models": [{"id": "nw-a-1", "name": "NW A1", "brand": "nw-a"}, {"id": "nw-a-2", "name": "NW A2", "brand": "nw-a"},
                        {"id": "nw-b-1", "name": "NW B1", "brand": "nw-b"}, {"id": "solo-x", "name": "Solo X", "brand": "solo"}]}
            """
        try catalog.merge(JSONDecoder().decode(CatalogDocument.self, from: Data(more.utf8)))
        return catalog
    }

    /// Random reports at every level, from three sources, with revisions; with `measures`, a third
    /// of them retail or wholesale; with `powertrains`, more than half of them one powertrain's part.
    static func reports(seed: UInt64, catalog: Catalog, measures: Bool = false, powertrains: Bool = false) -> [DeliveryReport] {
        var random = SplitMix(state: seed)
        let entities: [EntityKey] =
            [.market] + catalog.groups.keys.map { EntityKey(.group, $0) } + catalog.brands.keys.map { EntityKey(.brand, $0) }
        let models = catalog.models.keys.sorted().map { EntityKey(.model, $0) }
        let periods: [Period] = (1...7).map { .month(2025, $0) } + [.quarter(2025, 1), .year(2024), .month(2024, 11)]
        return (1...Int.random(in: 40...160, using: &random)).map { index in
            let entity = Int.random(in: 0..<4, using: &random) == 0
                ? entities.sorted().randomElement(using: &random)! : models.randomElement(using: &random)!
            let path = catalog.path(of: entity)
            let day = Int.random(in: 10...28, using: &random)
            var report = DeliveryReport(
                id: "r\(index)", source: ["CPCA", "CAAM", "Press"].randomElement(using: &random)!,
                period: periods.randomElement(using: &random)!.description, group: path.first,
                brand: path.count > 1 ? path[1] : nil, model: path.count > 2 ? path[2] : nil,
                units: Int64.random(in: 0...40_000, using: &random), qualifier: Qualifier.allCases.randomElement(using: &random)!,
                reportedAt: "2025-06-\(day)T00:00:00Z", note: nil, entity: catalog.ref(entity)
            )
            // Half the approximate reports state an interval of their own.
            if report.qualifier == .approximate, Bool.random(using: &random) {
                report.low = max(0, report.units - Int64.random(in: 0...3_000, using: &random))
                report.high = report.units + Int64.random(in: 0...3_000, using: &random)
            }
            if measures { report.measure = [Measure.deliveries, .deliveries, .deliveries, .deliveries, .retail, .wholesale].randomElement(using: &random)!.wire }
            if powertrains { report.powertrain = [nil, nil, nil, .BEV, .PHEV, .EREV, .NEV, .plugIn, .HEV, .ICE].randomElement(using: &random)! }
            return report
        }
    }

    /// Applies the reports to one book per shard, as shards do (each report to the shard owning its
    /// group; market reports to the shard that lists "market"), and feeds every change to a replica.
    ///
    /// Conflated as the aggregate's `figure.batch` is: each shard applies `batch` reports at a time,
    /// then sends each figure those changed once, with its final value.
    static func replica(of reports: [DeliveryReport], shards: [Set<String>], catalog: Catalog, batch: Int = 1) -> FigureReplica {
        var books = shards.map { _ in FigureBook(catalog: catalog) }
        var replica = FigureReplica()
        replica.mergeCatalog(catalog.document)
        var changed = shards.map { _ in [UInt64]() }
        func flush() {
            for shard in shards.indices {
                for figure in Set(changed[shard]).sorted() {
                    if let record = books[shard].record(figure) { _ = replica.receive(record) }
                }
                changed[shard] = []
            }
        }
        for (index, report) in reports.enumerated() {
            let owner = report.entity.path.first ?? "market"
            for shard in shards.indices where shards[shard].contains(owner) {
                changed[shard] += books[shard].apply(report, stream: "ingest-1", seq: UInt64(index + 1)).map(\.figure)
            }
            if (index + 1) % batch == 0 { flush() }
        }
        flush()
        return replica
    }

    @Test(arguments: 1...10)
    func shardsAddUpToOneMarket(seed: UInt64) throws {
        try shardsAddUp(seed: seed, batch: 1)
    }

    /// Conflation never loses a figure's final value: batches of any size give what applying
    /// every report from scratch gives.
    @Test(arguments: [(11, 3), (12, 17), (13, 1000)])
    func conflatedBatchesAddUpToOneMarket(seed: UInt64, batch: Int) throws {
        try shardsAddUp(seed: seed, batch: batch)
    }

    func shardsAddUp(seed: UInt64, batch: Int) throws {
        let catalog = try Self.catalog()
        let reports = Self.reports(seed: seed, catalog: catalog, measures: seed % 2 == 0, powertrains: seed % 3 != 1)
        var whole = FigureBook(catalog: catalog)
        for (index, report) in reports.enumerated() { whole.apply(report, stream: "ingest-1", seq: UInt64(index + 1)) }
        let topologies: [[Set<String>]] = [
            [["market", "hima", "nw", "solo"]],
            [["market", "hima"], ["nw", "solo"]],
            [["hima"], ["nw"], ["solo", "market"]],
        ]
        for shards in topologies {
            let replica = Self.replica(of: reports, shards: shards, catalog: catalog, batch: batch)
            var expectedKeys = 0
            for key in whole.keys {
                guard let expected = whole.body(key, previous: nil) else { continue }
                expectedKeys += 1
                var actual = replica.figure(key.entity, key.period, key.measure, key.powertrain)
                actual?.previous = expected.previous
                #expect(actual == expected, "\(key.entity) \(key.period), shards \(shards), seed \(seed)")
            }
            #expect(replica.count == expectedKeys, "shards \(shards), seed \(seed)")
        }
    }

    /// A group's figure sent again unchanged, or a shard's market figure without reports, changes nothing.
    @Test func repeatedFiguresChangeNothing() throws {
        let catalog = try Self.catalog()
        var book = FigureBook(catalog: catalog)
        var replica = FigureReplica()
        replica.mergeCatalog(catalog.document)
        let reports = Self.reports(seed: 99, catalog: catalog, measures: true, powertrains: true)
        var bodies: [FigureBody] = []
        for (index, report) in reports.enumerated() {
            for change in book.apply(report, stream: "s", seq: UInt64(index + 1)) {
                if let body = book.body(change) { bodies.append(body) }
            }
        }
        for body in bodies { _ = replica.receive(FigureRecord(body)) }
        for key in book.keys {
            if let body = book.body(key, previous: nil) { #expect(replica.receive(FigureRecord(body)).isEmpty, "\(key.entity) \(key.period) \(key.measure)") }
        }
    }
}
