import DeliveryCore
import DeliveryMessages
import Testing

/// Approximate figures judged by their intervals (docs/PROTOCOL.md, "Approximate figures").
@Suite struct ApproximateTests {
    static let catalog = CatalogDocument(
        groups: [GroupEntry(id: "g", name: "G")], brands: [BrandEntry(id: "b", name: "B", group: "g")],
        models: [ModelEntry(id: "m", name: "M", brand: "b"), ModelEntry(id: "n", name: "N", brand: "b")], segments: [], fx: []
    )
    static let model = EntitySelector(model: "m")

    /// A book of (period, units, qualifier, tolerance) reports for model m (or n when named).
    func book(_ reports: [(String, Int64, String, Int64?)], model: String = "m") throws -> FigureBook {
        var book = FigureBook(catalog: try Catalog(Self.catalog))
        for (index, (period, units, qualifier, tolerance)) in reports.enumerated() {
            book.apply(
                try report(
                    "\(model)\(index)", period: period, model: model, units: units, qualifier: qualifier,
                    reportedAt: "2025-06-01T00:00:\(10 + index)Z", tolerance: tolerance, catalog: book.catalog
                ),
                stream: "s", seq: UInt64(index + 1)
            )
        }
        return book
    }

    @Test(arguments: [
        (Int64(47_800), Int64(47_322), Int64(48_278)),  // ±50 from its digits, widened to 1 % (478)
        (36_300, 35_937, 36_663),
        (36_279, 35_916, 36_642),  // 1 % of 36,279 is 362.79: 363
        (50_000, 45_000, 55_000),  // its last non-zero digit is the ten thousands: ±5,000
        (2_000, 1_500, 2_500),
        (5, 4, 6),  // ±0 from its digits, at least 1 % rounded up: ±1
        (0, 0, 0),
    ])
    func anApproximateFigureMeansWhatItsDigitsSay(units: Int64, low: Int64, high: Int64) {
        #expect(Interval.approximate(units) == Interval(low: low, high: high))
    }

    /// The story: "sixth straight month of year-over-year decline", with May 2024 known only as
    /// "about 47,800" and May 2025 at 36,279 (down 24 %).
    @Test func aStreakRunsThroughAnApproximateMonthAsTheStorySaysIt() throws {
        let history: [(String, Int64, String, Int64?)] = [
            ("2023-11", 50_000, "exact", nil), ("2023-12", 52_000, "exact", nil),
            ("2024-01", 44_000, "exact", nil), ("2024-02", 39_000, "exact", nil), ("2024-03", 45_000, "exact", nil),
            ("2024-04", 46_500, "exact", nil), ("2024-05", 47_800, "approximate", nil),
            ("2024-11", 51_000, "exact", nil), ("2024-12", 49_000, "exact", nil),
            ("2025-01", 40_100, "exact", nil), ("2025-02", 31_000, "exact", nil), ("2025-03", 38_200, "exact", nil),
            ("2025-04", 35_900, "exact", nil), ("2025-05", 36_279, "exact", nil),
        ]
        let engine = QueryEngine(try book(history))
        let streak = try engine.streak(
            StreakQuery(period: "2025-05", entity: Self.model, condition: StreakCondition(growth: .yoy, direction: .down))
        )
        // Dec 2024 < Dec 2023, Jan–May 2025 < Jan–May 2024; Nov 2024 > Nov 2023 ends it.
        #expect(streak.months == 6 && streak.since == "2024-12" && streak.endedBy == .condition && streak.complete)
        #expect(streak.approximate == true)
        let growth = try engine.growth(GrowthQuery(entity: Self.model, period: "2025-05", vs: .yoy))
        #expect(growth.direction == "down" && growth.qualifier == .approximate)
        #expect(growth.previousLow == 47_322 && growth.previousHigh == 48_278)
        // The rate with its range: 36,279 against 47,322 … 48,278.
        let low = try #require(growth.growthLow), high = try #require(growth.growthHigh), rate = try #require(growth.growth)
        #expect(abs(low - (36_279.0 / 48_278 - 1)) < 1e-12 && abs(high - (36_279.0 / 47_322 - 1)) < 1e-12)
        #expect(low < rate && rate < high && high < 0)
        let brief = try engine.brief(BriefQuery(entity: Self.model, period: "2025-05"))
        let yoy = try #require(brief.facts.first { $0.kind == .growthYoY })
        #expect(yoy.text == "M deliveries were down about 24.1% year on year (May 2024: about 47,800).")
        #expect(brief.facts.contains { $0.text == "It was the 6th month in a row of year-on-year decline." }, "\(brief.facts.map(\.text))")
    }

    @Test func aNearMissStaysUncertainAndAFarOneIsCertain() throws {
        let near = QueryEngine(try book([("2024-05", 36_300, "approximate", nil), ("2025-05", 36_279, "exact", nil)]))
        let down = StreakCondition(growth: .yoy, direction: .down)
        let close = try near.streak(StreakQuery(period: "2025-05", entity: Self.model, condition: down))
        #expect(close.months == 0 && close.endedBy == .uncertain && close.approximate == true)
        #expect(try near.growth(GrowthQuery(entity: Self.model, period: "2025-05", vs: .yoy)).direction == "uncertain")
        // The same month with a stated tolerance of 10 is certainly above 36,279.
        let stated = QueryEngine(try book([("2024-05", 36_300, "approximate", 10), ("2025-05", 36_279, "exact", nil)]))
        let certain = try stated.streak(StreakQuery(period: "2025-05", entity: Self.model, condition: down))
        #expect(certain.months == 1 && certain.endedBy == .missing)
        // Thresholds: about 36,300 (35,937 … 36,663) is at least 35,000 for certain, 36,500 cannot tell.
        #expect(try near.streak(StreakQuery(period: "2024-05", entity: Self.model, condition: StreakCondition(atLeast: 35_000))).months == 1)
        #expect(try near.streak(StreakQuery(period: "2024-05", entity: Self.model, condition: StreakCondition(atLeast: 36_500))).endedBy == .uncertain)
        #expect(try near.streak(StreakQuery(period: "2024-05", entity: Self.model, condition: StreakCondition(atMost: 35_900))).endedBy == .condition)
    }

    @Test func recordsAreDecidedByIntervals() throws {
        let engine = QueryEngine(
            try book([("2025-01", 30_000, "exact", nil), ("2025-02", 40_000, "approximate", nil), ("2025-03", 40_100, "exact", nil)])
        )
        // About 40,000 (39,600 … 40,400 with 1 %; ±5,000 from its digits: 35,000 … 45,000) may be higher.
        let march = try engine.record(RecordQuery(entity: Self.model, period: "2025-03"))
        #expect(!march.isHighest && march.uncertain == ["isHighest"] && march.approximate == true)
        #expect(march.previousHigh?.low == 35_000 && march.previousHigh?.high == 45_000)
        let far = QueryEngine(
            try book([("2025-01", 30_000, "exact", nil), ("2025-02", 40_000, "approximate", nil), ("2025-03", 46_000, "exact", nil)])
        )
        let record = try far.record(RecordQuery(entity: Self.model, period: "2025-03"))
        #expect(record.isHighest && record.uncertain == nil)
    }

    @Test func approximateChildrenSumToTheSummedInterval() throws {
        var book = try book([("2025-01", 10_000, "approximate", nil), ("2025-02", 12_000, "exact", nil), ("2025-03", 9_000, "atLeast", nil)])
        book.apply(
            try report("n1", period: "2025-01", model: "n", units: 3_300, qualifier: "approximate", tolerance: 200, catalog: book.catalog),
            stream: "t", seq: 1
        )
        let engine = QueryEngine(book)
        // Brand b in January: about 10,000 (rounded to ten thousands: 5,000 … 15,000) + 3,300 ± 200.
        let brand = try engine.units(UnitsQuery(entity: EntitySelector(brand: "b"), period: "2025-01"))
        #expect(brand.units == 13_300 && brand.qualifier == .approximate && brand.low == 8_100 && brand.high == 18_500)
        // The model's first quarter: 5,000 … 15,000 + 12,000 + at least 9,000: no upper bound.
        let quarter = try engine.units(UnitsQuery(entity: Self.model, period: "2025-Q1"))
        #expect(quarter.units == 31_000 && quarter.qualifier == .approximate && quarter.low == 26_000 && quarter.high == nil)
        let ytd = try engine.ytd(YTDQuery(entity: Self.model, period: "2025-02"))
        #expect(ytd.low == 17_000 && ytd.high == 27_000)
        // The same through a replica fed the book's figures.
        var replica = FigureReplica()
        replica.replaceCatalog(try Catalog(Self.catalog).document)
        for id in book.figureIDs { if let record = book.record(id) { replica.receive(record, reporting: false) } }
        let copy = try QueryEngine(replica).units(UnitsQuery(entity: EntitySelector(brand: "b"), period: "2025-01"))
        #expect(copy.low == 8_100 && copy.high == 18_500)
        // An exact figure states no interval.
        #expect(try engine.units(UnitsQuery(entity: Self.model, period: "2025-02")).low == nil)
    }

    @Test func aReportStatesItsOwnInterval() throws {
        let catalog = try Catalog(Self.catalog)
        func validate(_ extra: [String: JSONValue]) throws(ProtocolError) -> DeliveryReport {
            var fields: [String: JSONValue] = [
                "source": .string("news"), "period": .string("2024-05"), "model": .string("m"), "units": .int(47_800),
                "qualifier": .string("approximate"), "reportedAt": .string("2025-06-01T00:00:00Z"),
            ]
            fields.merge(extra) { $1 }
            return try ReportValidator.validate(.object(fields), index: 0, catalog: catalog, receivedAt: 0, latest: .max).report
        }
        let plain = try validate([:])
        #expect(plain.low == nil && plain.interval == Interval(low: 47_322, high: 48_278))
        let tolerance = try validate(["tolerance": .int(1_000)])
        #expect(tolerance.low == 46_800 && tolerance.high == 48_800 && tolerance.id != plain.id)
        let lowOnly = try validate(["low": .int(47_000)])
        #expect(lowOnly.low == 47_000 && lowOnly.high == 48_278)
        let both = try validate(["low": .int(47_750), "high": .int(47_849)])
        #expect(both.interval == Interval(low: 47_750, high: 47_849))
        func refused(_ extra: [String: JSONValue], field: String, saying words: String) {
            do {
                _ = try validate(extra)
                Issue.record("accepted \(extra)")
            } catch {
                #expect(error.details?["field"] == .string(field) && error.message.contains(words), "\(error.message)")
            }
        }
        refused(["qualifier": .string("exact"), "tolerance": .int(5)], field: "tolerance", saying: "needs qualifier approximate")
        refused(["tolerance": .int(5), "low": .int(1)], field: "tolerance", saying: "not both")
        refused(["low": .int(48_000)], field: "low", saying: "at most units")
        refused(["high": .int(40_000)], field: "high", saying: "at least units")
        refused(["tolerance": .int(-1)], field: "tolerance", saying: "whole number >= 0")
        refused(["high": .string("lots")], field: "high", saying: "whole number >= 0")
        // The stated interval travels: stored form, checkpoint-free replay through a book.
        #expect(try StoredReport.decode(StoredReport.encode(both)) == both)
    }
}
