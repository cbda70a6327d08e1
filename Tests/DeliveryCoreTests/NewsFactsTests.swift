import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport

/// Streaks with a condition, records and cumulative totals against oracles written from the
/// definitions over random monthly histories (gaps, revisions, ties, approximate figures), on a
/// book and on a replica holding the same figures; and the seed story's brief.
@Suite struct NewsFactsTests {
    static let catalog = CatalogDocument(
        groups: [GroupEntry(id: "g", name: "G")], brands: [BrandEntry(id: "b", name: "B", group: "g")],
        models: [ModelEntry(id: "m", name: "M", brand: "b")], segments: [], fx: []
    )
    static let start = Period.month(2020, 1)

    /// One month as reported: units, qualifier and an approximate month's stated tolerance (the
    /// latest report of the month stands).
    struct Month {
        var units: Int64
        var qualifier: Qualifier
        var tolerance: Int64? = nil
    }

    /// A random history over 48 months: about one month in six missing, some revised, a tenth
    /// of them approximate or bounds, values that tie.
    static func history(_ random: inout some RandomNumberGenerator) -> [Period: [Month]] {
        var months: [Period: [Month]] = [:]
        var period = start
        for _ in 0..<48 {
            defer { period = period.next }
            if Int.random(in: 0..<6, using: &random) == 0 { continue }
            var reports: [Month] = []
            for _ in 0..<Int.random(in: 1...2, using: &random) {
                let qualifier: Qualifier =
                    switch Int.random(in: 0..<20, using: &random) {
                    case 0: .atLeast
                    case 1: .atMost
                    case 2: .approximate
                    default: .exact
                    }
                if qualifier == .approximate {
                    // Rounded to hundreds or thousands, half of them with a tolerance of their own.
                    let units = Bool.random(using: &random) ? Int64.random(in: 0...120, using: &random) * 100 : Int64.random(in: 0...12, using: &random) * 1000
                    let tolerance = Bool.random(using: &random) ? Int64.random(in: 0...2_500, using: &random) : nil
                    reports.append(Month(units: units, qualifier: qualifier, tolerance: tolerance))
                } else {
                    reports.append(Month(units: Int64.random(in: 0...12, using: &random) * 1000, qualifier: qualifier))
                }
            }
            months[period] = reports
        }
        return months
    }

    static func book(_ history: [Period: [Month]]) throws -> FigureBook {
        var book = FigureBook(catalog: try Catalog(catalog))
        var seq: UInt64 = 0
        for period in history.keys.sorted() {
            for (index, month) in history[period]!.enumerated() {
                seq += 1
                // A later reportedAt for each revision: the last report of a month stands.
                let report = try report(
                    "r\(seq)", period: period.description, model: "m", units: month.units, qualifier: month.qualifier.rawValue,
                    reportedAt: "2025-0\(index + 1)-01T00:00:00Z", tolerance: month.tolerance, catalog: book.catalog
                )
                book.apply(report, stream: "s", seq: seq)
            }
        }
        return book
    }

    static func replica(_ book: FigureBook, catalog: CatalogDocument = catalog) -> FigureReplica {
        var replica = FigureReplica()
        replica.replaceCatalog(catalog)
        for id in book.figureIDs { if let record = book.record(id) { replica.receive(record, reporting: false) } }
        return replica
    }

    // MARK: Oracles, from the definitions

    static func standing(_ history: [Period: [Month]]) -> [Period: Month] { history.compactMapValues(\.last) }

    /// The least and the most a month can be, from PROTOCOL.md's words: exact is its units,
    /// "at least" has no top, "at most" goes down to 0, "about" is its stated tolerance either side
    /// or else half the unit of its last non-zero digit, at least 1 % (rounded up).
    static func bounds(_ month: Month) -> (low: Int64, high: Int64?) {
        let units = month.units
        switch month.qualifier {
        case .exact: return (units, units)
        case .atLeast: return (units, nil)
        case .atMost: return (0, units)
        case .approximate:
            if let tolerance = month.tolerance { return (max(0, units - tolerance), units + tolerance) }
            guard units > 0 else { return (0, 0) }
            let zeros = String(units).reversed().prefix { $0 == "0" }.count
            let unit = (0..<zeros).reduce(Int64(1)) { value, _ in value * 10 }
            let margin = max(unit / 2, Int64((Double(units) / 100).rounded(.up)))
            return (max(0, units - margin), units + margin)
        }
    }

    /// A month meets "at least n" when its least possible value does, fails when its most possible
    /// value is below n, and otherwise cannot tell.
    static func atLeast(_ month: Month?, _ n: Int64) -> MonthOutcome {
        guard let month else { return .missing }
        let (low, high) = bounds(month)
        if low >= n { return .meets }
        if let high, high < n { return .fails }
        return .uncertain
    }

    static func atMost(_ month: Month?, _ n: Int64) -> MonthOutcome {
        guard let month else { return .missing }
        let (low, high) = bounds(month)
        if let high, high <= n { return .meets }
        if low > n { return .fails }
        return .uncertain
    }

    /// Up when every value of the month is above every value before; not up when every value is
    /// at or below; otherwise cannot tell.
    static func up(_ month: Month?, _ before: Month?) -> MonthOutcome {
        guard let month, let before else { return .missing }
        let (low, high) = bounds(month)
        let (beforeLow, beforeHigh) = bounds(before)
        if let beforeHigh, low > beforeHigh { return .meets }
        if let high, high <= beforeLow { return .fails }
        return .uncertain
    }

    /// Whether `a` is above `b` for certain (true), at or below for certain (false), or cannot tell.
    static func above(_ a: Month, _ b: Month) -> Bool? {
        switch up(a, b) {
        case .meets: true
        case .fails: false
        default: nil
        }
    }

    enum MonthOutcome: Equatable {
        case meets, fails, missing, uncertain
    }

    /// Runs computed forwards over every month: the length of the run ending at each month and
    /// why the one before it stopped.
    static func runs(_ outcome: (Period) -> MonthOutcome, through end: Period) -> (months: Int, since: Period?, endedBy: RunEnd) {
        var length = 0
        var reason = RunEnd.missing  // before the first month: nothing on record
        var period = start.previous.previous
        while period <= end {
            switch outcome(period) {
            case .meets: length += 1
            case .fails:
                length = 0
                reason = .condition
            case .missing:
                length = 0
                reason = .missing
            case .uncertain:
                length = 0
                reason = .uncertain
            }
            period = period.next
        }
        var since = end
        for _ in 0..<max(length - 1, 0) { since = since.previous }
        return (length, length > 0 ? since : nil, reason)
    }

    @Test(arguments: 0..<40)
    func streaksRecordsAndTotalsMatchTheOracles(seed: Int) throws {
        var random = SplitMix(state: UInt64(seed) &+ 0x5eed)
        let history = Self.history(&random)
        let months = Self.standing(history)
        let book = try Self.book(history)
        let replica = Self.replica(book)
        let model = EntitySelector(model: "m")
        for _ in 0..<6 {
            let period = Self.start.through(Period.month(2023, 12)).randomElement(using: &random)!
            let threshold = Int64.random(in: 0...12, using: &random) * 1000
            // Streaks: atLeast, atMost, mom up/down, yoy up.
            let cases: [(StreakCondition, (Period) -> MonthOutcome)] = [
                (StreakCondition(atLeast: threshold), { Self.atLeast(months[$0], threshold) }),
                (StreakCondition(atMost: threshold), { Self.atMost(months[$0], threshold) }),
                (StreakCondition(growth: .mom, direction: .up), { Self.up(months[$0], months[$0.previous]) }),
                (StreakCondition(growth: .mom, direction: .down), { Self.up(months[$0.previous], months[$0]) == .meets ? .meets : (Self.up(months[$0.previous], months[$0]) == .fails ? .fails : Self.up(months[$0.previous], months[$0])) }),
                (StreakCondition(growth: .yoy, direction: .up), { Self.up(months[$0], months[$0.sameLastYear]) }),
            ]
            for (condition, outcome) in cases {
                let expected = Self.runs(outcome, through: period)
                for answer in [
                    try QueryEngine(book).streak(StreakQuery(period: period.description, entity: model, condition: condition)),
                    try QueryEngine(replica).streak(StreakQuery(period: period.description, entity: model, condition: condition)),
                ] {
                    #expect(answer.months == expected.months, "\(condition) at \(period), seed \(seed)")
                    #expect(answer.since == expected.since?.description, "\(condition) at \(period), seed \(seed)")
                    #expect(answer.endedBy == expected.endedBy, "\(condition) at \(period), seed \(seed)")
                    #expect(answer.complete == (expected.endedBy == .condition))
                }
            }
            // Record: against every earlier month with a figure.
            let earlier = months.filter { $0.key < period }
            for record in [
                try QueryEngine(book).record(RecordQuery(entity: model, period: period.description)),
                try QueryEngine(replica).record(RecordQuery(entity: model, period: period.description)),
            ] {
                guard let current = months[period] else {
                    #expect(record.figure == nil)
                    continue
                }
                #expect(record.figure?.units == current.units)
                #expect(record.monthsBefore == earlier.count)
                #expect(record.firstMonth == (earlier.keys.min() ?? period).description)
                let top = earlier.values.map(\.units).max()
                let bottom = earlier.values.map(\.units).min()
                // A record is above (below) every earlier month for certain.
                #expect(record.isHighest == (!earlier.isEmpty && earlier.values.allSatisfy { Self.above(current, $0) == true }), "seed \(seed)")
                #expect(record.isLowest == (!earlier.isEmpty && earlier.values.allSatisfy { Self.above($0, current) == true }), "seed \(seed)")
                #expect(record.previousHigh?.units == top)
                #expect(record.previousLow?.units == bottom)
                // "Highest since": the latest earlier month higher for certain, with every month
                // after it at or below for certain (one that may be higher stops the search).
                let newestFirst = earlier.sorted { $0.key > $1.key }
                let since = newestFirst.first { Self.above($0.value, current) != false }
                let higher = since.flatMap { Self.above($0.value, current) == true ? $0 : nil }
                #expect(record.highestSince?.period == higher?.key.description, "seed \(seed)")
                let lowSince = newestFirst.first { Self.above(current, $0.value) != false }
                let lower = lowSince.flatMap { Self.above(current, $0.value) == true ? $0 : nil }
                #expect(record.lowestSince?.period == lower?.key.description, "seed \(seed)")
                let approximate = current.qualifier == .approximate || earlier.values.contains { $0.qualifier == .approximate }
                #expect(record.approximate == (approximate ? true : nil))
            }
            // Cumulative: every month up to the period, the gaps from the first, the crossing.
            let upTo = months.filter { $0.key <= period }.sorted { $0.key < $1.key }
            let milestone = Int64.random(in: 1...100, using: &random) * 1000
            for total in [
                try QueryEngine(book).cumulative(CumulativeQuery(entity: model, period: period.description, milestone: milestone)),
                try QueryEngine(replica).cumulative(CumulativeQuery(entity: model, period: period.description, milestone: milestone)),
            ] {
                #expect(total.units == upTo.reduce(0) { $0 + $1.value.units })
                #expect(total.months == upTo.count)
                #expect(total.from == upTo.first?.key.description)
                let span = upTo.first.map { $0.key.through(period).count } ?? 0
                #expect(total.missingMonths == span - upTo.count)
                #expect(total.complete == (span == upTo.count))
                var running: Int64 = 0
                var crossed: Period?
                for (month, figure) in upTo {
                    running += figure.units
                    if crossed == nil && running >= milestone { crossed = month }
                }
                #expect(total.crossedIn == crossed?.description, "seed \(seed)")
            }
        }
    }

    func engine(_ reports: [(String, Int64, String)]) throws -> QueryEngine<FigureBook> {
        var book = FigureBook(catalog: try Catalog(Self.catalog))
        for (index, (period, units, qualifier)) in reports.enumerated() {
            book.apply(
                try report("e\(index)", period: period, model: "m", units: units, qualifier: qualifier, reportedAt: "2025-01-01T00:00:\(10 + index)Z", catalog: book.catalog),
                stream: "s", seq: UInt64(index + 1)
            )
        }
        return QueryEngine(book)
    }

    @Test func aGapEndsARunAndIsSaidSo() throws {
        let engine = try engine([("2025-01", 40_000, "exact"), ("2025-03", 41_000, "exact"), ("2025-04", 42_000, "exact")])
        let run = try engine.streak(StreakQuery(period: "2025-04", entity: EntitySelector(model: "m"), condition: StreakCondition(atLeast: 30_000)))
        #expect(run.months == 2 && run.since == "2025-03" && run.endedBy == .missing && !run.complete)
    }

    @Test func aRevisionBreaksOrExtendsAStreak() throws {
        var reports: [(String, Int64, String)] = [("2025-01", 31_000, "exact"), ("2025-02", 29_000, "exact"), ("2025-03", 32_000, "exact")]
        let condition = StreakCondition(atLeast: 30_000)
        let query = StreakQuery(period: "2025-03", entity: EntitySelector(model: "m"), condition: condition)
        #expect(try engine(reports).streak(query).months == 1)
        reports.append(("2025-02", 30_500, "exact"))  // February revised up: the run spans three months
        let extended = try engine(reports).streak(query)
        #expect(extended.months == 3 && extended.since == "2025-01" && extended.endedBy == .missing)
        reports.append(("2025-03", 12_000, "exact"))  // March revised down: no run at all
        let broken = try engine(reports).streak(query)
        #expect(broken.months == 0 && broken.since == nil && broken.endedBy == .condition)
    }

    @Test func anAtLeastMonthMeetsByItsFloorOnly() throws {
        let engine = try engine([("2025-04", 30_000, "exact"), ("2025-05", 2_000, "atLeast")])
        let model = EntitySelector(model: "m")
        #expect(try engine.streak(StreakQuery(period: "2025-05", entity: model, condition: StreakCondition(atLeast: 2_000))).months == 2)
        let above = try engine.streak(StreakQuery(period: "2025-05", entity: model, condition: StreakCondition(atLeast: 2_001)))
        #expect(above.months == 0 && above.endedBy == .uncertain)
        // At most: a floor above the ceiling fails for certain; at or below cannot tell.
        #expect(try engine.streak(StreakQuery(period: "2025-05", entity: model, condition: StreakCondition(atMost: 1_999))).endedBy == .condition)
        #expect(try engine.streak(StreakQuery(period: "2025-05", entity: model, condition: StreakCondition(atMost: 5_000))).endedBy == .uncertain)
        // Down from 30,000 to at least 2,000 is not certain.
        #expect(try engine.streak(StreakQuery(period: "2025-05", entity: model, condition: StreakCondition(growth: .mom, direction: .down))).endedBy == .uncertain)
    }

    @Test func tiesAreNotRecords() throws {
        let engine = try engine([("2025-01", 5_000, "exact"), ("2025-02", 7_000, "exact"), ("2025-03", 7_000, "exact")])
        let record = try engine.record(RecordQuery(entity: EntitySelector(model: "m"), period: "2025-03"))
        #expect(!record.isHighest && !record.isLowest)
        #expect(record.previousHigh == MonthFigure(period: "2025-02", units: 7_000, qualifier: .exact))
        #expect(record.highestSince == nil)
        #expect(record.lowestSince?.period == "2025-01")
    }

    @Test func badConditionsAreRefusedByField() throws {
        let engine = try engine([("2025-01", 5_000, "exact")])
        let model = EntitySelector(model: "m")
        for (condition, field) in [
            (StreakCondition(), "condition"), (StreakCondition(atLeast: 1, atMost: 2), "condition"),
            (StreakCondition(growth: .qoq, direction: .up), "condition.growth"), (StreakCondition(growth: .mom), "condition.direction"),
            (StreakCondition(atLeast: 5, direction: .up), "condition.direction"), (StreakCondition(atLeast: -1), "condition"),
        ] {
            #expect {
                try engine.streak(StreakQuery(period: "2025-01", entity: model, condition: condition))
            } throws: { error in
                (error as? ProtocolError)?.code == .invalidQuery && (error as? ProtocolError)?.details?["field"] == .string(field)
            }
        }
        #expect(throws: ProtocolError.self) { try engine.streak(StreakQuery(period: "2025-01", condition: StreakCondition(atLeast: 1))) }
        #expect(throws: ProtocolError.self) { try engine.streak(StreakQuery(segment: "x", period: "2025-01", entity: model, condition: StreakCondition(atLeast: 1))) }
        #expect(throws: ProtocolError.self) { try engine.record(RecordQuery(entity: model, period: "2025-Q1")) }
        #expect(throws: ProtocolError.self) { try engine.cumulative(CumulativeQuery(entity: model, period: "2025-01", milestone: 0)) }
    }

    @Test func yearToDateAgainstThePreviousYear() throws {
        var reports: [(String, Int64, String)] = (1...12).map { (String(format: "2024-%02d", $0), 1_000, "exact") }
        reports += (1...6).map { (String(format: "2025-%02d", $0), 2_100, "exact") }
        let ytd = try engine(reports).ytd(YTDQuery(entity: EntitySelector(model: "m"), period: "2025-06"))
        #expect(ytd.units == 12_600 && ytd.previousYear?.units == 12_000 && ytd.previousYear?.complete == true)
        #expect(ytd.exceedsPreviousYear == true)
        let may = try engine(reports).ytd(YTDQuery(entity: EntitySelector(model: "m"), period: "2025-05"))
        #expect(may.exceedsPreviousYear == false)
        // A previous year with a month missing is a floor: exceeding it says nothing.
        let gap = try engine(reports.filter { $0.0 != "2024-07" }).ytd(YTDQuery(entity: EntitySelector(model: "m"), period: "2025-06"))
        #expect(gap.previousYear?.complete == false && gap.exceedsPreviousYear == nil)
    }

    @Test func theSeedStorysBrief() throws {
        let book = try Sample.book()
        let brief = try QueryEngine(book).brief(BriefQuery(entity: EntitySelector(group: "HIMA"), period: "2025-05"))
        let text = brief.facts.map(\.text)
        #expect(text.contains("HIMA delivered 44,454 vehicles in May 2025."))
        #expect(text.contains("HIMA deliveries were up 61.3% from April 2025 (27,555)."))
        #expect(text.contains("AITO delivered 36,625 of them (82.4%)."))
        // Sentence by sentence against the story: each is stated by it or follows from its figures,
        // in the words its basis requires.
        #expect(
            text == [
                "HIMA delivered 44,454 vehicles in May 2025.",  // stated
                "HIMA deliveries were up 61.3% from April 2025 (27,555).",  // follows: 44,454 / 27,555
                "AITO delivered 36,625 of them (82.4%).",  // stated (82.4 %)
                // The catalog's Luxeed S7 has no figure: Luxeed's sum is a lower bound.
                "Luxeed delivered at least 5,124 of them (at least 11.5%).",
                "Stelato delivered just over 2,000 of them (at least 4.5%).",  // "just over 2,000": a lower bound
                "Up to 705 of HIMA's deliveries are not attributed to a brand in the figures.",  // 44,454 minus lower bounds
                "By model: AITO M9 15,481; AITO M8 12,116; Luxeed R7 5,124; Stelato S9 just over 2,000.",  // stated
                // Stated by the story, citing CPCA (the sample's segmentRank); the other segments'
                // leads are among tracked models with one figure each: nothing is said of them.
                "The AITO M9 was the best-selling model of the above 500,000 yuan segment (above USD 69,587 at the catalog's rate), according to CPCA, with 15,481.",
                "The AITO M8 was the best-selling model of the 400,000-500,000 yuan segment (USD 55,670–69,587 at the catalog's rate), according to CPCA, with 12,116.",
            ]
        )
        #expect(!text.contains { $0.contains("200,000-300,000") || $0.contains("300,000-400,000") })
        let luxeed = try #require(brief.facts.first { $0.entity?.id == "luxeed" })
        #expect(luxeed.basis == FactBasis(kind: .lowerBound, sources: ["CPCA"], missing: [book.catalog.ref(EntityKey(.model, "luxeed-s7"))], missingCount: 1))
        #expect(brief.facts.allSatisfy { $0.basis != nil })
        #expect(brief.facts.first?.basis == FactBasis(kind: .reported, sources: ["CPCA"]))
        #expect(text.contains("Up to 705 of HIMA's deliveries are not attributed to a brand in the figures."))
        // The market is only the sum of what is tracked: no share of it; one month of the segment: no run claimed.
        #expect(!text.contains { $0.contains("of the market") })
        #expect(!text.contains { $0.contains("in a row") })
        let growth = try #require(brief.facts.first { $0.kind == .growthMoM })
        #expect(growth.data["previousUnits"] == .int(27_555))
        let aito = try QueryEngine(book).brief(BriefQuery(entity: EntitySelector(brand: "AITO"), period: "2025-05"))
        #expect(aito.facts.map(\.text).contains("9,028 of AITO's deliveries are not attributed to a model in the figures."))
        #expect(try QueryEngine(book).brief(BriefQuery(entity: EntitySelector(group: "HIMA"), period: "2025-03")).facts.isEmpty)
    }

    @Test func aBriefStatesStreaksRecordsAndMilestonesFromHistory() throws {
        // Twelve months rising from 35,000 to 46,000, then a record of 47,000: the brief says so.
        var reports: [(String, Int64, String)] = (1...12).map { (String(format: "2024-%02d", $0), 34_000 + Int64($0) * 1_000, "exact") }
        reports.append(("2025-01", 47_000, "exact"))
        let facts = try engine(reports).brief(BriefQuery(entity: EntitySelector(model: "m"), period: "2025-01")).facts
        let text = facts.map(\.text)
        #expect(text.contains("It was M's highest month on record (since January 2024)."))
        #expect(text.contains("It was the 12th month in a row on record of month-on-month growth."))
        #expect(text.contains("It was the 8th month in a row with at least 40,000 deliveries."))
        #expect(text.contains("Since January 2024, the first month on record, M has delivered 533,000 vehicles."))
        #expect(text.contains("The total passed 500,000 in January 2025."))
        #expect(text.contains("M deliveries were up 34.3% year on year (January 2024: 35,000)."))
        // Live facts: the same figure as an event.
        let liveFacts = try engine(reports).liveFacts(EntityKey(.model, "m"), .month(2025, 1))
        let live = liveFacts.map(\.kind)
        #expect(live.contains(.recordHigh) && live.contains(.milestone) && live.contains(.streakThreshold))
        // Each fact event says what it rests on: here the model's reports.
        #expect(liveFacts.allSatisfy { $0.basis == FactBasis(kind: .reported, sources: ["CPCA"]) })
        // A drop ends the growth run.
        reports.append(("2025-02", 1_000, "exact"))
        let ended = try engine(reports).liveFacts(EntityKey(.model, "m"), .month(2025, 2))
        #expect(ended.contains { $0.kind == .streakEnded && $0.text == "M ended a run of 12 months on record of month-on-month growth in February 2025." })
        #expect(ended.contains { $0.kind == .recordLow })
    }
}
