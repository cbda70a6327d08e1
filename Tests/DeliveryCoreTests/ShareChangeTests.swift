import DeliveryCore
import DeliveryMessages
import Testing

/// A share's change is a difference of two percentages, in percentage points, never a growth rate
/// of units (#40): the seed's "BEV sales declined by 10.4 %, plug-ins grew by 10.4 %" read as
/// shares of a whole that grew, checked against a from-scratch computation.
@Suite struct ShareChangeTests {
    /// A whole ("nev", reported) and two parts, as brands of one group.
    static let catalog = CatalogDocument(
        groups: [GroupEntry(id: "nev", name: "NEV")],
        brands: [BrandEntry(id: "bev", name: "BEV", group: "nev"), BrandEntry(id: "plug", name: "Plug-in", group: "nev")],
        models: [], segments: [], fx: []
    )

    /// (period, whole, bev, plug-in, bev's qualifier)
    func book(_ months: [(String, Int64, Int64?, Int64?, String)]) throws -> FigureBook {
        var book = FigureBook(catalog: try Catalog(Self.catalog))
        var seq: UInt64 = 0
        for (period, whole, bev, plug, qualifier) in months {
            func put(_ id: String, group: String, brand: String?, _ units: Int64, _ qualifier: String = "exact") throws {
                seq += 1
                book.apply(try report(id, period: period, group: group, brand: brand, units: units, qualifier: qualifier, catalog: book.catalog), stream: "s", seq: seq)
            }
            try put("nev-\(period)", group: "nev", brand: nil, whole)
            if let bev { try put("bev-\(period)", group: "nev", brand: "bev", bev, qualifier) }
            if let plug { try put("plug-\(period)", group: "nev", brand: "plug", plug) }
        }
        return book
    }

    @Test func theChangeIsInPointsAndMatchesTheSharesItIsMadeOf() throws {
        // Units of both parts grew (the whole grew 35.5 %), yet BEV's share fell 10.4 points.
        let months: [(String, Int64, Int64?, Int64?, String)] = [
            ("2023-12", 1_000_000, 704_000, 296_000, "exact"), ("2024-11", 1_300_000, 800_000, 500_000, "exact"),
            ("2024-12", 1_355_000, 813_000, 542_000, "exact"),
        ]
        let engine = QueryEngine(try book(months))
        let share = try engine.share(ShareQuery(entity: EntitySelector(brand: "BEV"), period: "2024-12"))
        let now = 813_000.0 / 1_355_000
        #expect(share.share == now && share.qualifier == .exact)
        let year = try #require(share.previousYear)
        #expect(year.period == "2023-12" && year.share == 0.704 && year.changeQualifier == .exact)
        #expect(year.changePoints == ((now - 0.704) * 100_000).rounded() / 1000)
        #expect(year.changePoints == -10.4)
        let month = try #require(share.previous)
        #expect(month.period == "2024-11" && month.changePoints == ((now - 800.0 / 1300) * 100_000).rounded() / 1000)
        // Growth stays a percent of units: BEV's units grew while its share fell.
        let growth = try engine.growth(GrowthQuery(entity: EntitySelector(brand: "BEV"), period: "2024-12", vs: .yoy))
        #expect((growth.growth ?? 0) > 0)
        // The brief says points, never a growth rate, for the share.
        let brief = try engine.brief(BriefQuery(entity: EntitySelector(brand: "BEV"), period: "2024-12"))
        let fact = try #require(brief.facts.first { $0.kind == .share })
        #expect(fact.text == "BEV accounted for 60.0% of NEV's 1,355,000 deliveries, down 1.5 points from November 2024 (61.5%).", "\(fact.text)")
    }

    @Test func boundsCarryIntoTheChangeAndAMissingPeriodGivesNone() throws {
        // BEV "at least 813,000" now: its share is a floor, and so is the change.
        let engine = QueryEngine(try book([("2024-11", 1_300_000, 800_000, 500_000, "exact"), ("2024-12", 1_355_000, 813_000, 542_000, "atLeast")]))
        let share = try engine.share(ShareQuery(entity: EntitySelector(brand: "BEV"), period: "2024-12"))
        #expect(share.qualifier == .atLeast && share.previous?.changeQualifier == .atLeast && share.previousYear == nil)
        // The brief states a change only between two exact shares.
        let brief = try engine.brief(BriefQuery(entity: EntitySelector(brand: "BEV"), period: "2024-12"))
        let fact = try #require(brief.facts.first { $0.kind == .share })
        #expect(!fact.text.contains("points"), "\(fact.text)")
        // A part with no figure before is not known to have had 0: no share then, no change.
        let fresh = QueryEngine(try book([("2024-11", 1_300_000, nil, 500_000, "exact"), ("2024-12", 1_355_000, 813_000, 542_000, "exact")]))
        let first = try fresh.share(ShareQuery(entity: EntitySelector(brand: "BEV"), period: "2024-12"))
        #expect(first.previous == nil && first.share == 813_000.0 / 1_355_000)
        // A year has no "period before" beside the year before.
        let year = try fresh.share(ShareQuery(entity: EntitySelector(brand: "BEV"), period: "2024"))
        #expect(year.previous == nil)
    }
}
