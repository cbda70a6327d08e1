import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport

/// Figures by measure (#40): a retail figure and a delivery figure of one month live side by side,
/// sources compete only within one measure, and every query of a measure equals the same query
/// over a book that holds only that measure's reports (a from-scratch computation), on the
/// aggregate's book and on a replica fed from it.
@Suite struct MeasureTests {
    static let catalog = CatalogDocument(
        groups: [GroupEntry(id: "g", name: "G"), GroupEntry(id: "h", name: "H")],
        brands: [BrandEntry(id: "a", name: "A", group: "g"), BrandEntry(id: "b", name: "B", group: "g"), BrandEntry(id: "c", name: "C", group: "h")],
        models: [ModelEntry(id: "a1", name: "A1", brand: "a"), ModelEntry(id: "a2", name: "A2", brand: "a"), ModelEntry(id: "c1", name: "C1", brand: "c")],
        segments: [], fx: []
    )

    struct Entry {
        var id: String, source: String, period: String, group: String?, brand: String?, model: String?, units: Int64, measure: Measure, at: Int
    }

    /// A random history: every level, two sources, revisions, every measure.
    static func history(_ random: inout some RandomNumberGenerator, count: Int) -> [Entry] {
        let names: [(String?, String?, String?)] = [
            ("G", nil, nil), ("G", "A", nil), ("G", "A", "A1"), ("G", "A", "A2"), ("G", "B", nil), ("H", "C", "C1"), ("H", nil, nil), (nil, nil, nil),
        ]
        let periods = ["2024-11", "2024-12", "2025-01", "2025-02", "2025-Q1", "2024"]
        return (0..<count).map { index in
            let (group, brand, model) = names.randomElement(using: &random)!
            return Entry(
                id: "r\(index)", source: ["CPCA", "CAAM"].randomElement(using: &random)!, period: periods.randomElement(using: &random)!,
                group: group, brand: brand, model: model, units: Int64.random(in: 0...50_000, using: &random),
                measure: [.deliveries, .retail, .wholesale].randomElement(using: &random)!, at: Int.random(in: 0..<50, using: &random)
            )
        }
    }

    static func book(_ entries: [Entry], relabel: Bool = false) throws -> FigureBook {
        var book = FigureBook(catalog: try Catalog(catalog))
        for (seq, entry) in entries.enumerated() {
            book.apply(try report(entry, catalog: book.catalog, relabel: relabel), stream: "s", seq: UInt64(seq + 1))
        }
        return book
    }

    /// An entry as the validator makes it; `relabel`: as deliveries, its measure left out.
    static func report(_ entry: Entry, catalog: Catalog, relabel: Bool = false) throws -> DeliveryReport {
        var fields: [String: JSONValue] = [
            "id": .string(entry.id), "source": .string(entry.source), "period": .string(entry.period), "units": .int(entry.units),
            "reportedAt": .string("2025-03-01T00:00:\(String(format: "%02d", entry.at))Z"),
        ]
        if let group = entry.group { fields["group"] = .string(group) }
        if let brand = entry.brand { fields["brand"] = .string(brand) }
        if let model = entry.model { fields["model"] = .string(model) }
        if !relabel { fields["measure"] = .string(entry.measure.rawValue) }
        return try ReportValidator.validate(.object(fields), index: 0, catalog: catalog, receivedAt: 0, latest: .max).report
    }

    /// The answers a measure's figures give, as text: every figure read, then the query kinds.
    static func answers<Store: FigureStore>(_ store: Store) throws -> [String] {
        let engine = QueryEngine(store)
        var out: [String] = []
        let entities: [EntitySelector] = [
            EntitySelector(group: "G"), EntitySelector(brand: "A"), EntitySelector(model: "A1"), EntitySelector(brand: "C"), EntitySelector(),
        ]
        for entity in entities {
            for period in ["2024-12", "2025-01", "2025-02", "2025-Q1", "2024", "2025"] {
                let units = try engine.units(UnitsQuery(entity: entity, period: period))
                out.append("\(entity) \(period) units \(units.units) \(units.qualifier) \(units.basis) \(units.sources) \(units.coverage ?? "-")")
            }
            let growth = try? engine.growth(GrowthQuery(entity: entity, period: "2025-01", vs: .mom))
            out.append("\(entity) growth \(growth?.growth.map { String($0) } ?? "none") \(growth?.qualifier.rawValue ?? "-")")
            let series = try engine.series(SeriesQuery(entity: entity, from: "2024-11", to: "2025-02"))
            out.append("\(entity) series \(series.points.map { "\($0.units)\($0.qualifier.rawValue)" })")
        }
        let ranking = try engine.ranking(RankingQuery(period: "2025-01", level: .brand))
        out.append("ranking \(ranking.rows.map { "\($0.entity.id)=\($0.units)" })")
        let share = try engine.share(ShareQuery(entity: EntitySelector(brand: "A"), period: "2025-01"))
        out.append("share \(share.share.map { String($0) } ?? "none") \(share.previous?.changePoints.map { String($0) } ?? "none")")
        return out
    }

    /// A measure's code is its place in `allCases` (keys of older checkpoints depend on it), and
    /// reads back.
    @Test func codesAreThePlacesInAllCases() {
        for (index, measure) in Measure.allCases.enumerated() {
            #expect(measure.code == UInt64(index) && Measure(code: UInt64(index)) == measure)
        }
    }

    @Test func eachMeasureAnswersAsABookOfItsOwnReports() throws {
        var random = SplitMix(state: 40)
        for round in 0..<20 {
            let entries = Self.history(&random, count: 60)
            let mixed = try Self.book(entries)
            let replica = NewsFactsTests.replica(mixed, catalog: Self.catalog)
            for measure in [Measure.deliveries, .retail, .wholesale] {
                let alone = try Self.book(entries.filter { $0.measure == measure }, relabel: true)
                let expected = try Self.answers(alone)
                #expect(try Self.answers(MeasureView(mixed, measure)) == expected, "round \(round), \(measure) on the book")
                #expect(try Self.answers(MeasureView(replica, measure)) == expected, "round \(round), \(measure) on the replica")
            }
        }
    }

    @Test func aRetailFigureAndADeliveryFigureLiveSideBySide() throws {
        let entries = [
            Entry(id: "byd-deliveries", source: "BYD", period: "2025-05", group: "G", brand: "A", model: nil, units: 382_476, measure: .deliveries, at: 1),
            Entry(id: "cpca-retail", source: "CPCA", period: "2025-05", group: "G", brand: "A", model: nil, units: 300_000, measure: .retail, at: 2),
        ]
        let book = try Self.book(entries)
        let key = EntityKey(.brand, "a")
        let period = Period.month(2025, 5)
        #expect(book.figure(key, period)?.units == 382_476 && book.figure(key, period)?.measure == nil)
        #expect(book.figure(key, period, .retail)?.units == 300_000 && book.figure(key, period, .retail)?.measure == .retail)
        #expect(book.figure(key, period, .retail)?.sources.map(\.source) == ["CPCA"])
        // Each measure's group sum holds only its own brand figures.
        #expect(book.figure(EntityKey(.group, "g"), period, .retail)?.units == 300_000)
        #expect(book.figure(EntityKey(.group, "g"), period)?.units == 382_476)
        #expect(book.figure(key, period, .wholesale) == nil)
        // A replica fed from the book keeps both, each under its own topic.
        let replica = NewsFactsTests.replica(book, catalog: Self.catalog)
        #expect(replica.figure(key, period)?.units == 382_476 && replica.figure(key, period, .retail)?.units == 300_000)
        // A, G and the market, each in May, the second quarter and 2025.
        let retail = replica.figures(prefix: "figure:retail.")
        #expect(retail.count == 9 && retail.allSatisfy { $0.units == 300_000 && $0.measure == .retail })
        #expect(replica.figures(prefix: "figure:retail.g.a.").count == 3)
        #expect(replica.figures(prefix: "figure.").allSatisfy { $0.measure == nil })
        // Queries say which measure they speak of.
        let reply = QueryDispatcher.answer(
            .units, message: .object(["body": .object(["entity": .object(["brand": .string("A")]), "period": .string("2025-05"), "measure": .string("retail")])]),
            id: .string("q"), store: replica, asOf: [:]
        )
        let body = try JSONParser.parse(reply.bytes)["body"]
        #expect(body?["units"] == .int(300_000) && body?["measure"] == .string("retail"))
        // Two measures of one entity and period in one answer.
        let both = QueryDispatcher.answer(
            .units, message: .object(["body": .object(["entity": .object(["brand": .string("A")]), "period": .string("2025-05"), "compare": .string("retail")])]),
            id: .string("q"), store: replica, asOf: [:]
        )
        let compared = try JSONParser.parse(both.bytes)["body"]
        #expect(compared?["units"] == .int(382_476) && compared?["measure"] == nil)
        #expect(compared?["compared"]?["measure"] == .string("retail") && compared?["compared"]?["units"] == .int(300_000))
        #expect(compared?["compared"]?["difference"] == .int(-82_476) && compared?["compared"]?["sources"] == .array([.string("CPCA")]))
        let brief = QueryDispatcher.answer(
            .brief, message: .object(["body": .object(["entity": .object(["brand": .string("A")]), "period": .string("2025-05"), "measure": .string("retail")])]),
            id: .string("q"), store: replica, asOf: [:]
        )
        // The brief words another measure as what it is, and names its source.
        let said = try JSONParser.parse(brief.bytes)["body"]?["facts"]
        guard case .array(let facts)? = said, case .string(let first)? = facts.first?["text"] else {
            Issue.record("no brief: \(String(decoding: brief.bytes, as: UTF8.self))")
            return
        }
        #expect(first == "A sold 300,000 vehicles at retail in May 2025, according to CPCA.", "\(first)")
        #expect(!String(decoding: brief.bytes, as: UTF8.self).contains("deliver"))
    }

    /// One answer whatever the order the reports arrive in, with measures: each report keeps its
    /// stream and seq, only the order of application changes.
    @Test func oneAnswerWhateverTheOrderWithMeasures() throws {
        let catalog = try ShardingTests.catalog()
        let reports = ShardingTests.reports(seed: 77, catalog: catalog, measures: true)
        var ordered = FigureBook(catalog: catalog)
        for (index, report) in reports.enumerated() { ordered.apply(report, stream: "ingest-\(index % 3)", seq: UInt64(index / 3 + 1)) }
        var random = SplitMix(state: 77)
        for _ in 0..<5 {
            var shuffled = FigureBook(catalog: catalog)
            for index in reports.indices.shuffled(using: &random) {
                shuffled.apply(reports[index], stream: "ingest-\(index % 3)", seq: UInt64(index / 3 + 1))
            }
            #expect(CheckpointTests.same(shuffled, ordered))
        }
        #expect(Set(ordered.keys.map(\.measure)) == [.deliveries, .retail, .wholesale])
    }
}
