import DeliveryCore
import DeliveryMessages
import Foundation
import Testing
import TestSupport

/// Figures by powertrain (#40): a report with a powertrain is one part of its entity's figure; a
/// figure nobody reports is the larger of its children's sum and its powertrain parts' sum. Every
/// figure of random histories (parts without wholes, wholes without parts, groups reported as one
/// figure, revisions, approximate parts) equals a from-scratch computation of that rule, on the
/// aggregate's book, on a replica fed from it, and whatever the order the reports arrive in.
@Suite struct PowertrainTests {
    static let catalog = CatalogDocument(
        groups: [GroupEntry(id: "g", name: "G"), GroupEntry(id: "h", name: "H")],
        brands: [BrandEntry(id: "a", name: "A", group: "g"), BrandEntry(id: "b", name: "B", group: "g"), BrandEntry(id: "c", name: "C", group: "h")],
        models: [
            ModelEntry(id: "a1", name: "A1", brand: "a", powertrains: ["BEV", "EREV"]), ModelEntry(id: "a2", name: "A2", brand: "a", powertrains: ["BEV"]),
            ModelEntry(id: "b1", name: "B1", brand: "b"), ModelEntry(id: "c1", name: "C1", brand: "c", powertrains: ["PHEV", "BEV"]),
        ],
        segments: [], fx: []
    )

    struct Entry {
        var id: String, source: String, period: Period, entity: EntityKey, units: Int64, qualifier: Qualifier, powertrain: Powertrain?, at: Int
    }

    static let entities: [EntityKey] = [
        .market, EntityKey(.group, "g"), EntityKey(.group, "h"), EntityKey(.brand, "a"), EntityKey(.brand, "b"), EntityKey(.brand, "c"),
        EntityKey(.model, "a1"), EntityKey(.model, "a2"), EntityKey(.model, "b1"), EntityKey(.model, "c1"),
    ]
    static let periods: [Period] = [.month(2025, 1), .month(2025, 2), .month(2025, 3), .quarter(2025, 1), .year(2025)]
    static let powertrains: [Powertrain?] = [nil] + Powertrain.allCases

    /// A random history: parts at every level (each kind the catalog allows a model), groups as one
    /// figure, wholes, two sources, revisions.
    static func history(_ random: inout some RandomNumberGenerator, count: Int, catalog: Catalog) -> [Entry] {
        (0..<count).compactMap { index in
            let entity = entities.randomElement(using: &random)!
            let powertrain: Powertrain? = [nil, nil, Powertrain.BEV, .BEV, .PHEV, .EREV, .NEV, .plugIn, .HEV, .ICE, .FCEV].randomElement(using: &random)!
            if let powertrain, entity.level == .model, !catalog.offers(entity, powertrain) { return nil }
            return Entry(
                id: "r\(index)", source: ["Maker", "CPCA"].randomElement(using: &random)!,
                period: [.month(2025, 1), .month(2025, 2), .month(2025, 3), .month(2025, 3), .quarter(2025, 1)].randomElement(using: &random)!,
                entity: entity, units: Int64.random(in: 0...20_000, using: &random),
                qualifier: [.exact, .exact, .exact, .approximate, .atLeast].randomElement(using: &random)!, powertrain: powertrain,
                at: Int.random(in: 0..<40, using: &random)
            )
        }
    }

    static func report(_ entry: Entry, catalog: Catalog) -> DeliveryReport {
        let path = catalog.path(of: entry.entity)
        return DeliveryReport(
            id: entry.id, source: entry.source, period: entry.period.description, group: path.first, brand: path.count > 1 ? path[1] : nil,
            model: path.count > 2 ? path[2] : nil, units: entry.units, qualifier: entry.qualifier,
            reportedAt: "2025-04-01T00:00:\(String(format: "%02d", entry.at))Z", note: nil, entity: catalog.ref(entry.entity), powertrain: entry.powertrain
        )
    }

    static func book(_ entries: [Entry], order: [Int]? = nil) throws -> FigureBook {
        var book = FigureBook(catalog: try Catalog(catalog))
        let catalog = book.catalog
        for index in order ?? Array(entries.indices) {
            // Each report keeps its stream and seq whatever the order it is applied in.
            book.apply(report(entries[index], catalog: catalog), stream: "s", seq: UInt64(index + 1))
        }
        return book
    }

    /// From the definitions: the report latest in the order of reports, else the larger of the
    /// sum of the children's figures (entities beneath, for a month; its months or quarters) and
    /// the sum of the powertrain parts' figures (a tie to the children).
    struct Oracle {
        let entries: [Entry]
        let catalog: Catalog

        struct Value: Equatable {
            var units: Int64
            var basis: Basis
            var fromParts: Bool
        }

        func value(_ entity: EntityKey, _ period: Period, _ powertrain: Powertrain?) -> Value? {
            let own = entries.enumerated().filter { $0.element.entity == entity && $0.element.period == period && $0.element.powertrain == powertrain }
            if let latest = own.max(by: { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }) {
                return Value(units: latest.element.units, basis: .reported, fromParts: false)
            }
            let children: [Value?]
            switch period.kind {
            case .month: children = catalog.children(of: entity).map { value($0, period, powertrain) }
            case .quarter, .year: children = period.parts.map { value(entity, $0, powertrain) }
            }
            let parts = Powertrain.parts(of: powertrain).map { value(entity, period, $0) }
            let mine = children.compactMap { $0 }
            let theirs = parts.compactMap { $0 }
            let childSum = mine.isEmpty ? nil : mine.reduce(0) { $0 + $1.units }
            let partSum = theirs.isEmpty ? nil : theirs.reduce(0) { $0 + $1.units }
            switch (childSum, partSum) {
            case (nil, nil): return nil
            case (let sum?, nil): return Value(units: sum, basis: .computed, fromParts: false)
            case (nil, let sum?): return Value(units: sum, basis: .computed, fromParts: true)
            case (let a?, let b?): return Value(units: max(a, b), basis: .computed, fromParts: b > a)
            }
        }
    }

    static func observed(_ body: FigureBody?) -> Oracle.Value? {
        body.map { Oracle.Value(units: $0.units, basis: $0.basis, fromParts: $0.computedFrom == .powertrains) }
    }

    @Test func everyFigureIsItsReportOrTheLargerSumOfItsChildrenOrItsParts() throws {
        var random = SplitMix(state: 4040)
        for round in 0..<20 {
            let catalog = try Catalog(Self.catalog)
            let entries = Self.history(&random, count: 70, catalog: catalog)
            let book = try Self.book(entries)
            let replica = NewsFactsTests.replica(book, catalog: Self.catalog)
            let shuffled = try Self.book(entries, order: Array(entries.indices).shuffled(using: &random))
            let oracle = Oracle(entries: entries, catalog: catalog)
            for entity in Self.entities {
                for period in Self.periods {
                    for powertrain in Self.powertrains {
                        let expected = oracle.value(entity, period, powertrain)
                        let label = "round \(round): \(entity) \(period) \(powertrain?.rawValue ?? "whole")"
                        #expect(Self.observed(book.figure(entity, period, .deliveries, powertrain)) == expected, "\(label) on the book")
                        #expect(Self.observed(replica.figure(entity, period, .deliveries, powertrain)) == expected, "\(label) on the replica")
                        #expect(
                            shuffled.figure(entity, period, .deliveries, powertrain) == book.figure(entity, period, .deliveries, powertrain),
                            "\(label) in another order"
                        )
                    }
                }
            }
        }
    }

    /// Every query kind of one kind's figures (BEV, say) answers as a book of that kind's reports
    /// alone would, whole: growth, series, rankings and shares per powertrain, from the same view.
    @Test func eachKindAnswersAsABookOfItsOwnReports() throws {
        var random = SplitMix(state: 4041)
        for round in 0..<10 {
            let entries = MeasureTests.history(&random, count: 60)
            let kinds = entries.map { _ in [nil, Powertrain.BEV, .PHEV, .HEV].randomElement(using: &random)! }
            var mixed = FigureBook(catalog: try Catalog(MeasureTests.catalog))
            for (seq, entry) in entries.enumerated() {
                var report = try MeasureTests.report(entry, catalog: mixed.catalog, relabel: true)
                report.powertrain = kinds[seq]
                mixed.apply(report, stream: "s", seq: UInt64(seq + 1))
            }
            let replica = NewsFactsTests.replica(mixed, catalog: MeasureTests.catalog)
            for kind in [Powertrain.BEV, .PHEV, .HEV] {
                let alone = try MeasureTests.book(zip(entries, kinds).filter { $0.1 == kind }.map(\.0), relabel: true)
                let expected = try Self.answers(alone)
                #expect(try Self.answers(MeasureView(mixed, .deliveries, kind)) == expected, "round \(round), \(kind) on the book")
                #expect(try Self.answers(MeasureView(replica, .deliveries, kind)) == expected, "round \(round), \(kind) on the replica")
            }
        }
    }

    /// `MeasureTests.answers` with the share named against its parent (`of`): without `of`, a
    /// powertrain's share is of its own entity's whole, where a whole's is of its parent.
    static func answers<Store: FigureStore>(_ store: Store) throws -> [String] {
        let share = try QueryEngine(store).share(ShareQuery(entity: EntitySelector(brand: "A"), period: "2025-01", of: EntitySelector(group: "G")))
        return try MeasureTests.answers(store).dropLast() + ["share \(share.share.map { String($0) } ?? "none") \(share.previous?.changePoints.map { String($0) } ?? "none")"]
    }

    /// What a user sends: a maker's month by powertrain, and the whole answered from its parts
    /// with its coverage; a part never replaces the whole, nor another part.
    @Test func aMakersMonthByPowertrain() throws {
        let catalog = try Catalog(Self.catalog)
        let may = Period.month(2025, 5)
        let entries = [
            Entry(id: "a1-erev", source: "Maker", period: may, entity: EntityKey(.model, "a1"), units: 30_000, qualifier: .exact, powertrain: .EREV, at: 1),
            Entry(id: "a1-bev", source: "Maker", period: may, entity: EntityKey(.model, "a1"), units: 6_625, qualifier: .exact, powertrain: .BEV, at: 2),
            Entry(id: "a2-bev", source: "Maker", period: may, entity: EntityKey(.model, "a2"), units: 1_000, qualifier: .exact, powertrain: .BEV, at: 3),
            Entry(id: "c1-bev", source: "Maker", period: may, entity: EntityKey(.model, "c1"), units: 500, qualifier: .exact, powertrain: .BEV, at: 4),
        ]
        let book = try Self.book(entries)
        let replica = NewsFactsTests.replica(book, catalog: Self.catalog)
        let a1 = EntityKey(.model, "a1")
        // The model's whole is its two parts: complete, the catalog lists it with BEV and EREV.
        let whole = try QueryEngine(replica).units(UnitsQuery(entity: EntitySelector(model: "A1"), period: "2025-05"))
        #expect(whole.units == 36_625 && whole.basis == .computed && whole.qualifier == .exact && whole.coverage == "complete")
        #expect(replica.figure(a1, may)?.computedFrom == .powertrains)
        #expect(replica.figure(a1, may, .deliveries, .EREV)?.units == 30_000)
        #expect(replica.figure(a1, may, .deliveries, .plugIn)?.units == 30_000)
        #expect(replica.figure(a1, may, .deliveries, .NEV)?.units == 36_625)
        // C1 is listed with PHEV too: its whole from BEV alone is a lower bound naming the part.
        let c1 = try QueryEngine(replica).units(UnitsQuery(entity: EntitySelector(model: "C1"), period: "2025-05"))
        #expect(c1.units == 500 && c1.qualifier == .atLeast && c1.coverage == "partial")
        #expect(c1.missingParts == [MissingPart(entity: catalog.ref(EntityKey(.model, "c1")), powertrain: .PHEV)])
        // The brand A: its models' wholes (A2's BEV is all A2 is listed with).
        let brand = try QueryEngine(replica).units(UnitsQuery(entity: EntitySelector(brand: "A"), period: "2025-05"))
        #expect(brand.units == 37_625 && brand.qualifier == .exact, "\(brand)")
        // Shares of NEV and of the whole, and a ranking by one powertrain's figures.
        let share = QueryDispatcher.answer(
            .share,
            message: .object(["body": .object([
                "entity": .object(["model": .string("A1")]), "period": .string("2025-05"), "powertrain": .string("BEV"), "ofPowertrain": .string("NEV"),
            ])]),
            id: .int(1), store: replica, asOf: [:]
        )
        let shareBody = try JSONParser.parse(share.bytes)["body"]
        #expect(shareBody?["units"] == .int(6_625) && shareBody?["ofUnits"] == .int(36_625) && shareBody?["ofPowertrain"] == .string("NEV"))
        #expect(shareBody?["powertrain"] == .string("BEV"))
        let ranking = QueryDispatcher.answer(
            .ranking,
            message: .object(["body": .object([
                "period": .string("2025-05"), "level": .string("model"), "powertrain": .string("BEV"), "byPowertrain": .bool(true),
            ])]),
            id: .int(2), store: replica, asOf: [:]
        )
        let rows = try JSONParser.parse(ranking.bytes)["body"]?["rows"]
        guard case .array(let ranked)? = rows else {
            Issue.record("no ranking: \(String(decoding: ranking.bytes, as: UTF8.self))")
            return
        }
        #expect(ranked.compactMap { $0["entity"]?["id"]?.stringValue } == ["a1", "a2", "c1"])
        #expect(ranked.map { $0["units"] } == [.int(6_625), .int(1_000), .int(500)])
    }

    /// Bad values are refused by name: a powertrain's spelling, one on a segment, one the catalog
    /// does not list a model with; and a query's.
    @Test func badPowertrainsAreRefusedByName() throws {
        var catalog = try Catalog(Self.catalog)
        try catalog.merge(CatalogDocument(groups: [], brands: [], models: [], segments: [SegmentEntry(id: "s", name: "S", minCNY: 0)], fx: []))
        func refusal(_ fields: [String: JSONValue]) -> ProtocolError? {
            var report: [String: JSONValue] = ["source": .string("X"), "period": .string("2025-05"), "units": .int(1)]
            report.merge(fields) { $1 }
            do {
                _ = try ReportValidator.validate(.object(report), index: 0, catalog: catalog, receivedAt: 0, latest: .max)
                return nil
            } catch {
                return error
            }
        }
        for (fields, words) in [
            (["model": JSONValue.string("A1"), "powertrain": .string("bev")], "powertrain must be one of BEV"),
            (["model": .string("A1"), "powertrain": .int(1)], "powertrain must be a string"),
            (["segment": .string("s"), "powertrain": .string("BEV")], "a segment's total is reported whole"),
            (["model": .string("A2"), "powertrain": .string("EREV")], "the catalog lists model 'a2' with BEV, not EREV"),
            (["model": .string("A2"), "powertrain": .string("plug-in")], "not plug-in"),
        ] {
            let error = refusal(fields)
            #expect(error?.code == .invalidReport && error?.details?["field"] == .string("powertrain"), "\(fields)")
            #expect(error?.message.contains(words) == true, "\(error?.message ?? "accepted"): \(words)")
        }
        // A model listed without powertrains may have any; a group of kinds it has is taken.
        #expect(refusal(["model": .string("B1"), "powertrain": .string("ICE")]) == nil)
        #expect(refusal(["model": .string("A1"), "powertrain": .string("NEV")]) == nil)
        let book = try Self.book([])
        let reply = QueryDispatcher.answer(
            .units, message: .object(["body": .object(["entity": .object(["brand": .string("A")]), "period": .string("2025-05"), "powertrain": .string("Bev")])]),
            id: .int(1), store: book, asOf: [:]
        )
        let body = try JSONParser.parse(reply.bytes)["body"]
        #expect(body?["code"] == .string("invalid_query") && body?["details"]?["field"] == .string("powertrain"))
    }

    static func number(_ value: JSONValue) -> Double {
        switch value {
        case .double(let number): number
        case .int(let number): Double(number)
        default: .nan
        }
    }

    /// The second sample (samples/caam-2024-powertrains.json): CAAM's NEV sales by powertrain.
    /// Its published facts are answered by queries: BEV's share of NEV sales 60 %, down 10.4
    /// percentage points; plug-in's 40 %, up 10.4 points; BEV sales themselves up 15.5 %.
    @Test func theCAAMSampleAnswersItsPublishedFacts() throws {
        struct File: Decodable {
            var catalog: CatalogDocument
            var reports: [JSONValue]
        }
        let url = Sample.url.deletingLastPathComponent().appendingPathComponent("caam-2024-powertrains.json")
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: url))
        var book = FigureBook(catalog: try Catalog(file.catalog))
        for (index, value) in file.reports.enumerated() {
            let report = try ReportValidator.validate(value, index: index, catalog: book.catalog, receivedAt: 0, latest: .max).report
            book.apply(report, stream: "caam", seq: UInt64(index + 1))
        }
        let replica = NewsFactsTests.replica(book, catalog: file.catalog)
        func ask(_ kind: QueryKind, _ body: [String: JSONValue]) throws -> JSONValue? {
            var fields = body
            fields["measure"] = .string("wholesale")
            return try JSONParser.parse(QueryDispatcher.answer(kind, message: .object(["body": .object(fields)]), id: .int(1), store: replica, asOf: [:]).bytes)["body"]
        }
        let market: JSONValue = .object(["market": .bool(true)])
        let bev = try ask(.share, ["entity": market, "period": .string("2024"), "powertrain": .string("BEV"), "ofPowertrain": .string("NEV")])
        #expect(abs((bev?["share"].map(Self.number) ?? 0) - 0.59995) < 0.00001, "\(String(describing: bev))")
        #expect(abs((bev?["previousYear"]?["changePoints"].map(Self.number) ?? 0) + 10.4) < 0.05)
        let plugIn = try ask(.share, ["entity": market, "period": .string("2024"), "powertrain": .string("plug-in"), "ofPowertrain": .string("NEV")])
        #expect(abs((plugIn?["share"].map(Self.number) ?? 0) - 0.39958) < 0.00001)
        #expect(abs((plugIn?["previousYear"]?["changePoints"].map(Self.number) ?? 0) - 10.4) < 0.05)
        for (powertrain, expected) in [("NEV", 0.355), ("BEV", 0.155), ("plug-in", 0.833)] {
            let growth = try ask(.growth, ["entity": market, "period": .string("2024"), "vs": .string("yoy"), "powertrain": .string(powertrain)])
            #expect(abs((growth?["growth"].map(Self.number) ?? 0) - expected) < 0.0005, "\(powertrain): \(String(describing: growth))")
        }
        // The market's whole is not known: the NEV figure alone is a lower bound, and says which
        // parts it lacks (no catalog lists the market's powertrains).
        let whole = try ask(.units, ["entity": market, "period": .string("2024")])
        #expect(whole?["units"] == .int(12_866_000) && whole?["qualifier"] == .string("atLeast") && whole?["computedFrom"] == .string("powertrains"))
        guard case .array(let lacking)? = whole?["missingParts"] else {
            Issue.record("no missing parts: \(String(describing: whole))")
            return
        }
        #expect(lacking.compactMap { $0["powertrain"]?.stringValue } == ["HEV", "ICE"])
    }
}
