import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport

/// Claims that know their coverage: over random catalogs (models with and without delivery dates)
/// and random histories (reported and computed parents, revisions, stated segment ranks), every
/// answer's qualifier, `missing` and lead basis equal a from-scratch computation written from
/// docs/PROTOCOL.md ("Coverage"), on a book and on a replica; and the sample's brief says only
/// what its figures support.
@Suite struct CoverageTests {
    static let months = (1...6).map { Period.month(2024, $0) }
    static let segments = ["s1", "s2"]

    struct Report {
        var entity: EntityKey
        var month: Period
        var units: Int64
        var qualifier: Qualifier
        var rank: Int?
    }

    /// A random catalog: one or two groups, up to three brands each, up to three models each
    /// (a brand may have none), models in a segment or none, with or without delivery dates.
    static func catalog(_ random: inout SplitMix) -> CatalogDocument {
        var document = CatalogDocument(segments: segments.map { SegmentEntry(id: $0, name: "segment \($0)") })
        for g in 0..<Int.random(in: 1...2, using: &random) {
            document.groups.append(GroupEntry(id: "g\(g)", name: "G\(g)"))
            for b in 0..<Int.random(in: 1...3, using: &random) {
                let brand = "g\(g)b\(b)"
                document.brands.append(BrandEntry(id: brand, name: brand.uppercased(), group: "g\(g)"))
                for m in 0..<Int.random(in: 0...3, using: &random) {
                    var model = ModelEntry(id: "\(brand)m\(m)", name: "\(brand)M\(m)".uppercased(), brand: brand)
                    model.segment = Bool.random(using: &random) ? segments.randomElement(using: &random) : nil
                    let began = Int.random(in: -2...7, using: &random)
                    if (1...6).contains(began) { model.deliveriesBegan = Period.month(2024, began).description }
                    let ended = Int.random(in: max(began, 1)...9, using: &random)
                    if (1...6).contains(ended) { model.deliveriesEnded = Period.month(2024, ended).description }
                    document.models.append(model)
                }
            }
        }
        return document
    }

    /// Reports for about half the model months, some brand and group months, a few revisions,
    /// a tenth of them lower or upper bounds, some models' ranks in their segment.
    static func reports(_ catalog: Catalog, _ random: inout SplitMix) -> [Report] {
        var reports: [Report] = []
        for month in months {
            for id in catalog.models.keys.sorted() where Int.random(in: 0..<2, using: &random) == 0 {
                let qualifier: Qualifier = Int.random(in: 0..<10, using: &random) == 0 ? .atLeast : .exact
                let rank = catalog.model(id)?.segment != nil && Int.random(in: 0..<3, using: &random) == 0 ? Int.random(in: 1...2, using: &random) : nil
                reports.append(Report(entity: EntityKey(.model, id), month: month, units: Int64.random(in: 0...1_000, using: &random), qualifier: qualifier, rank: rank))
            }
            for id in catalog.brands.keys.sorted() where Int.random(in: 0..<7, using: &random) == 0 {
                reports.append(Report(entity: EntityKey(.brand, id), month: month, units: Int64.random(in: 0...3_000, using: &random), qualifier: .exact, rank: nil))
            }
            for id in catalog.groups.keys.sorted() where Int.random(in: 0..<10, using: &random) == 0 {
                reports.append(Report(entity: EntityKey(.group, id), month: month, units: Int64.random(in: 0...9_000, using: &random), qualifier: .atMost, rank: nil))
            }
        }
        // Revisions: the same source again, later, with other units or another rank.
        for index in reports.indices where Int.random(in: 0..<8, using: &random) == 0 {
            var revision = reports[index]
            revision.units = Int64.random(in: 0...1_000, using: &random)
            if revision.rank != nil { revision.rank = Int.random(in: 1...2, using: &random) }
            reports.append(revision)
        }
        // Segment totals: about a third of the segment months, most equal to what the models that
        // stand add up to (the tracked models are all of it), some more (models not tracked).
        let standing = Oracle(catalog, reports)
        for month in months {
            for segment in segments where Int.random(in: 0..<3, using: &random) == 0 {
                let sum = catalog.models.values.filter { $0.segment == segment }.reduce(Int64(0)) { $0 + (standing.standing[FigureKey(EntityKey(.model, $1.id), month)]?.units ?? 0) }
                let extra = Int.random(in: 0..<3, using: &random) == 0 ? Int64.random(in: 1...50, using: &random) : 0
                reports.append(Report(entity: EntityKey(.segment, segment), month: month, units: sum + extra, qualifier: .exact, rank: nil))
            }
        }
        return reports
    }

    /// The oracle: the reports that stand (the last of each entity and month), and everything
    /// else computed from scratch from the definitions.
    struct Oracle {
        let catalog: Catalog
        var standing: [FigureKey: Report] = [:]

        init(_ catalog: Catalog, _ reports: [Report]) {
            self.catalog = catalog
            for report in reports { standing[FigureKey(report.entity, report.month)] = report }
        }

        /// docs/PROTOCOL.md: a model is expected from deliveriesBegan to deliveriesEnded; a brand
        /// or group with no children, or with an expected child.
        func expects(_ key: EntityKey, _ month: Period) -> Bool {
            if key.level == .model {
                let model = catalog.model(key.id)!
                if let began = model.deliveriesBegan, month.description < began { return false }
                if let ended = model.deliveriesEnded, month.description > ended { return false }
                return true
            }
            let children = catalog.children(of: key)
            return children.isEmpty || children.contains { expects($0, month) }
        }

        func hasFigure(_ key: EntityKey, _ month: Period) -> Bool {
            standing[FigureKey(key, month)] != nil || catalog.children(of: key).contains { hasFigure($0, month) }
        }

        /// The expected entities with no figure beneath a computed figure.
        func missing(_ key: EntityKey, _ month: Period) -> Set<EntityKey> {
            guard standing[FigureKey(key, month)] == nil, hasFigure(key, month) else { return [] }
            var result: Set<EntityKey> = []
            for child in catalog.children(of: key) {
                if hasFigure(child, month) {
                    result.formUnion(missing(child, month))
                } else if expects(child, month) {
                    result.insert(child)
                }
            }
            return result
        }

        func units(_ key: EntityKey, _ month: Period) -> Int64 {
            if let report = standing[FigureKey(key, month)] { return report.units }
            return catalog.children(of: key).reduce(0) { $0 + units($1, month) }
        }

        /// Whether the figure's value is exact: reported exact, or a sum of exact parts with no
        /// expected part missing.
        func isExact(_ key: EntityKey, _ month: Period) -> Bool {
            if let report = standing[FigureKey(key, month)] { return report.qualifier == .exact }
            return missing(key, month).isEmpty && catalog.children(of: key).allSatisfy { !hasFigure($0, month) || isExact($0, month) }
        }

        /// A segment's lead: the model a standing report ranks 1 (among those with figures, by
        /// units, ties to the smaller id), else the top of the tracked models.
        func lead(_ segment: String, _ month: Period) -> (leader: String?, basis: LeadBasis?) {
            let ranked = catalog.models.values.filter { $0.segment == segment }.map(\.id)
                .filter { standing[FigureKey(EntityKey(.model, $0), month)] != nil }
                .sorted {
                    let (a, b) = (units(EntityKey(.model, $0), month), units(EntityKey(.model, $1), month))
                    return a != b ? a > b : $0 < $1
                }
            if let stated = ranked.first(where: { standing[FigureKey(EntityKey(.model, $0), month)]?.rank == 1 }) {
                return (stated, .reported)
            }
            guard let top = ranked.first else { return (nil, nil) }
            // The segment's total is all tracked when the models' least sum (an atLeast figure's
            // floor) reaches it; the lead is known when the top is certainly above the next.
            if let total = standing[FigureKey(EntityKey(.segment, segment), month)] {
                let least = ranked.reduce(Int64(0)) { $0 + units(EntityKey(.model, $1), month) }
                let certain = ranked.count < 2 || (units(EntityKey(.model, top), month) > units(EntityKey(.model, ranked[1]), month)
                    && standing[FigureKey(EntityKey(.model, ranked[1]), month)]?.qualifier == .exact)
                if least >= total.units && certain { return (top, .complete) }
            }
            return (top, .tracked)
        }
    }

    static func book(_ document: CatalogDocument, _ reports: [Report]) throws -> FigureBook {
        var book = FigureBook(catalog: try Catalog(document))
        for (index, item) in reports.enumerated() {
            var fields: [String: JSONValue] = [
                "source": .string("CPCA"), "period": .string(item.month.description), "units": .int(item.units),
                "qualifier": .string(item.qualifier.rawValue),
                "reportedAt": .string(Timestamp.format(millis: 1_722_470_400_000 + Int64(index) * 1_000)), "id": .string("r\(index)"),
            ]
            fields[item.entity.level.rawValue] = .string(item.entity.id)
            if let rank = item.rank { fields["segmentRank"] = .int(Int64(rank)) }
            let report = try ReportValidator.validate(.object(fields), index: index, catalog: book.catalog, receivedAt: 0, latest: .max).report
            book.apply(report, stream: "s", seq: UInt64(index + 1))
        }
        return book
    }

    func check(_ engine: QueryEngine<some FigureStore>, _ oracle: Oracle, seed: UInt64) throws {
        let entities = oracle.catalog.groups.keys.map { EntityKey(.group, $0) } + oracle.catalog.brands.keys.map { EntityKey(.brand, $0) }
            + oracle.catalog.models.keys.map { EntityKey(.model, $0) }
        for month in Self.months {
            for key in entities {
                let selector: EntitySelector =
                    switch key.level {
                    case .group: EntitySelector(group: key.id)
                    case .brand: EntitySelector(brand: key.id)
                    default: EntitySelector(model: key.id)
                    }
                let answer = try engine.units(UnitsQuery(entity: selector, period: month.description))
                let missing = oracle.missing(key, month)
                let context = Comment(rawValue: "seed \(seed), \(key) \(month): \(answer)")
                #expect(answer.units == (oracle.hasFigure(key, month) ? oracle.units(key, month) : 0), context)
                #expect((answer.missingCount ?? 0) == missing.count, context)
                #expect(Set((answer.missing ?? []).map { EntityKey($0.level, $0.id) }).isSubset(of: missing), context)
                #expect((answer.missing ?? []).count == min(missing.count, 20), context)
                guard oracle.hasFigure(key, month) else { continue }
                #expect((answer.qualifier == .exact) == oracle.isExact(key, month), context)
                if !missing.isEmpty {
                    // A lower bound: never an upper bound stated.
                    #expect(answer.qualifier != .exact && answer.qualifier != .atMost && answer.high == nil, context)
                    #expect(answer.coverage == "partial", context)
                } else if answer.basis == .computed {
                    #expect(answer.coverage == "complete", context)
                } else {
                    #expect(answer.coverage == nil, context)
                }
            }
            for segment in Self.segments {
                let expected = oracle.lead(segment, month)
                let streak = try engine.streak(StreakQuery(segment: segment, period: month.description))
                let context = Comment(rawValue: "seed \(seed), \(segment) \(month): \(streak)")
                #expect(streak.leader?.id == expected.leader, context)
                #expect(streak.basis == expected.basis, context)
                // A run counts only stated or complete leads.
                if expected.basis == .tracked { #expect(streak.months == 0 && streak.endedBy == .tracked, context) }
                if expected.basis == .reported || expected.basis == .complete { #expect(streak.months >= 1, context) }
                let ranking = try engine.ranking(RankingQuery(period: month.description, level: .model, segment: segment))
                #expect(ranking.coverage == (expected.basis == .complete ? "complete" : "tracked"), context)
                #expect(ranking.segmentLeader?.id == (expected.basis == .reported || expected.basis == .complete ? expected.leader : nil), context)
            }
        }
    }

    @Test(arguments: 0..<40 as Range<UInt64>)
    func answersKnowTheirCoverage(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        let document = Self.catalog(&random)
        let catalog = try Catalog(document)
        let reports = Self.reports(catalog, &random)
        let book = try Self.book(document, reports)
        let oracle = Oracle(catalog, reports)
        try check(QueryEngine(book), oracle, seed: seed)
        try check(QueryEngine(NewsFactsTests.replica(book, catalog: document)), oracle, seed: seed)
    }

    /// The random histories reach every case the oracle tells apart.
    @Test func theRandomHistoriesReachEveryCase() throws {
        var (short, complete, reported, tracked, dated, whole) = (0, 0, 0, 0, 0, 0)
        for seed in 0..<40 as Range<UInt64> {
            var random = SplitMix(state: seed)
            let document = Self.catalog(&random)
            let catalog = try Catalog(document)
            let oracle = Oracle(catalog, Self.reports(catalog, &random))
            for month in Self.months {
                for id in catalog.brands.keys where oracle.hasFigure(EntityKey(.brand, id), month) {
                    if oracle.missing(EntityKey(.brand, id), month).isEmpty { complete += 1 } else { short += 1 }
                }
                for id in catalog.models.keys where !oracle.expects(EntityKey(.model, id), month) { dated += 1 }
                for segment in Self.segments {
                    switch oracle.lead(segment, month).basis {
                    case .reported?: reported += 1
                    case .complete?: whole += 1
                    case .tracked?: tracked += 1
                    case nil: break
                    }
                }
            }
        }
        #expect(short > 20 && complete > 20 && reported > 20 && tracked > 20 && dated > 20 && whole > 10, "\((short, complete, reported, tracked, dated, whole))")
    }

    /// One brand with two models, X and Y, in segment S1.
    static let twoModels = CatalogDocument(
        groups: [GroupEntry(id: "g", name: "G")], brands: [BrandEntry(id: "b", name: "B", group: "g")],
        models: [ModelEntry(id: "x", name: "X", brand: "b", segment: "s1"), ModelEntry(id: "y", name: "Y", brand: "b", segment: "s1")],
        segments: [SegmentEntry(id: "s1", name: "S1")]
    )

    @Test func aStatedLeadRunsAndATrackedMonthEndsIt() throws {
        let document = Self.twoModels
        // X outsells Y every month; a source ranks X first in months 2 to 5, not in month 1.
        var reports: [Report] = []
        for (index, month) in Self.months.prefix(5).enumerated() {
            reports.append(Report(entity: EntityKey(.model, "x"), month: month, units: 500, qualifier: .exact, rank: index == 0 ? nil : 1))
            reports.append(Report(entity: EntityKey(.model, "y"), month: month, units: 100, qualifier: .exact, rank: nil))
        }
        // June: X alone, no rank stated; Y has no figure.
        reports.append(Report(entity: EntityKey(.model, "x"), month: Self.months[5], units: 500, qualifier: .exact, rank: nil))
        let engine = QueryEngine(try Self.book(document, reports))
        let june = try engine.streak(StreakQuery(segment: "s1", period: "2024-06", entity: EntitySelector(model: "y")))
        #expect(june.months == 0 && june.endedBy == .missing)  // Y has no figure: whether it led is not known
        #expect(try engine.streak(StreakQuery(segment: "s1", period: "2024-06")).endedBy == .tracked)
        let run = try engine.streak(StreakQuery(segment: "s1", period: "2024-05"))
        #expect(run.leader?.id == "x" && run.basis == .reported && run.source == "CPCA")
        #expect(run.months == 4 && run.since == "2024-02" && run.endedBy == .tracked && !run.complete)
        let first = try engine.streak(StreakQuery(segment: "s1", period: "2024-01"))
        #expect(first.leader?.id == "x" && first.basis == .tracked && first.months == 0 && first.endedBy == .tracked)
        #expect(first.trackedModels == 2 && first.withFigures == 2)
        // Y, outsold by a tracked model, certainly did not lead.
        let y = try engine.streak(StreakQuery(segment: "s1", period: "2024-01", entity: EntitySelector(model: "y")))
        #expect(y.months == 0 && y.endedBy == .condition)
        // The brief: stated with its source where reported, "among the tracked models" where not.
        let may = try engine.brief(BriefQuery(entity: EntitySelector(brand: "b"), period: "2024-05")).facts.first { $0.kind == .leader }
        #expect(may?.text == "The X was the best-selling model of the S1 segment, according to CPCA, with 500, for the 4th month in a row on record.")
        #expect(may?.basis == FactBasis(kind: .reported, sources: ["CPCA"]))
        let january = try engine.brief(BriefQuery(entity: EntitySelector(brand: "b"), period: "2024-01")).facts.first { $0.kind == .leader }
        #expect(january?.text == "The X was the best seller among the 2 tracked models of the S1 segment with figures for January 2024, with 500.")
        #expect(january?.basis?.kind == .tracked)
    }

    @Test func aSegmentTotalTheTrackedModelsMakeUpStatesTheLead() throws {
        let document = Self.twoModels
        var reports: [Report] = []
        for month in Self.months.prefix(3) {
            reports.append(Report(entity: EntityKey(.model, "x"), month: month, units: 500, qualifier: .exact, rank: nil))
            reports.append(Report(entity: EntityKey(.model, "y"), month: month, units: 100, qualifier: .exact, rank: nil))
        }
        // January and March: the segment's total is the two models' 600; February: 650, so 50
        // went to models the catalog does not track.
        for (month, total) in [(Self.months[0], Int64(600)), (Self.months[1], 650), (Self.months[2], 600)] {
            reports.append(Report(entity: EntityKey(.segment, "s1"), month: month, units: total, qualifier: .exact, rank: nil))
        }
        let engine = QueryEngine(try Self.book(document, reports))
        let march = try engine.streak(StreakQuery(segment: "s1", period: "2024-03"))
        #expect(march.basis == .complete && march.source == "CPCA" && march.months == 1 && march.endedBy == .tracked)
        let january = try engine.streak(StreakQuery(segment: "s1", period: "2024-01"))
        #expect(january.basis == .complete && january.months == 1 && january.endedBy == .missing)
        #expect(try engine.streak(StreakQuery(segment: "s1", period: "2024-02")).basis == .tracked)
        let ranking = try engine.ranking(RankingQuery(period: "2024-03", level: .model, segment: "s1"))
        #expect(ranking.coverage == "complete" && ranking.segmentLeader?.id == "x" && ranking.leaderSource == "CPCA")
        let fact = try engine.brief(BriefQuery(entity: EntitySelector(model: "x"), period: "2024-03")).facts.first { $0.kind == .leader }
        #expect(fact?.text == "The X was the best-selling model of the S1 segment, with 500 of the segment's 600 deliveries according to CPCA.")
        #expect(fact?.basis == FactBasis(kind: .complete, sources: ["CPCA"]))
        // The segment's total is a figure of its own: asked as an entity.
        let total = try engine.units(UnitsQuery(entity: EntitySelector(segment: "S1"), period: "2024-02"))
        #expect(total.units == 650 && total.basis == .reported && total.entity.path == ["segment:s1"])
        // A segment's total names no group, brand or model.
        let catalog = try Catalog(document)
        #expect(throws: ProtocolError.self) {
            try ReportValidator.validate(
                .object(["source": .string("CPCA"), "period": .string("2024-01"), "units": .int(1), "segment": .string("s1"), "model": .string("x")]),
                index: 0, catalog: catalog, receivedAt: 0, latest: .max
            )
        }
    }

    @Test func deliveryDatesSayWhenAModelIsMissing() throws {
        let document = CatalogDocument(
            groups: [GroupEntry(id: "g", name: "G")], brands: [BrandEntry(id: "b", name: "B", group: "g")],
            models: [
                ModelEntry(id: "old", name: "Old", brand: "b", deliveriesEnded: "2024-02"),
                ModelEntry(id: "new", name: "New", brand: "b", deliveriesBegan: "2024-Q2"),
                ModelEntry(id: "core", name: "Core", brand: "b"),
            ]
        )
        let reports = Self.months.map { Report(entity: EntityKey(.model, "core"), month: $0, units: 10, qualifier: .exact, rank: nil) }
        let engine = QueryEngine(try Self.book(document, reports))
        func missing(_ month: String) throws -> [String] {
            try engine.units(UnitsQuery(entity: EntitySelector(brand: "b"), period: month)).missing?.map(\.id) ?? []
        }
        #expect(try missing("2024-01") == ["old"])
        #expect(try missing("2024-03") == [])
        #expect(try missing("2024-04") == ["new"])
        let march = try engine.units(UnitsQuery(entity: EntitySelector(brand: "b"), period: "2024-03"))
        #expect(march.qualifier == .exact && march.coverage == "complete")
        // A quarter inherits the lower bound of a month in it.
        let q1 = try engine.units(UnitsQuery(entity: EntitySelector(brand: "b"), period: "2024-Q1"))
        #expect(q1.qualifier == .atLeast && q1.missing?.map(\.id) == ["old"])
        let q2 = try engine.units(UnitsQuery(entity: EntitySelector(brand: "b"), period: "2024-Q2"))
        #expect(q2.qualifier == .atLeast && q2.missing?.map(\.id) == ["new"])
        // Growth and share inherit it; the brief says "at least" and names what is missing.
        #expect(try engine.growth(GrowthQuery(entity: EntitySelector(brand: "b"), period: "2024-04", vs: .mom)).qualifier == .atLeast)
        let units = try engine.brief(BriefQuery(entity: EntitySelector(brand: "b"), period: "2024-04")).facts.first
        #expect(units?.text == "B delivered at least 10 vehicles in April 2024 (the sum of its models with figures; no figure for the New).")
        #expect(units?.basis?.kind == .lowerBound && units?.basis?.missing?.map(\.id) == ["new"])
        // Dates that are not periods, or an end before the beginning, are refused.
        var catalog = Catalog()
        for bad in [ModelEntry(id: "z", name: "Z", brand: "b", deliveriesBegan: "May 2024"), ModelEntry(id: "z", name: "Z", brand: "b", deliveriesBegan: "2024-05", deliveriesEnded: "2024-Q1")] {
            #expect(throws: ProtocolError.self) { try catalog.merge(CatalogDocument(groups: document.groups, brands: document.brands, models: [bad])) }
        }
    }

    @Test func aSegmentRankIsRefusedWhereItMeansNothing() throws {
        let catalog = try Catalog(try Sample.load().catalog)
        func validate(_ fields: [String: JSONValue]) throws {
            var all: [String: JSONValue] = ["source": .string("CPCA"), "period": .string("2025-05"), "units": .int(1)]
            all.merge(fields) { $1 }
            _ = try ReportValidator.validate(.object(all), index: 0, catalog: catalog, receivedAt: 0, latest: .max)
        }
        try validate(["model": .string("AITO M9"), "segmentRank": .int(1)])
        for (fields, why) in [
            (["brand": JSONValue.string("AITO"), "segmentRank": .int(1)], "a brand"),
            (["model": .string("AITO M9"), "segmentRank": .int(0)], "0"),
            (["model": .string("AITO M9"), "segmentRank": .string("1")], "a string"),
            (["model": .string("AITO M9"), "segmentRank": .int(1001)], "too large"),
            (["model": .string("AITO M9"), "segmentRank": .int(1), "period": .string("2025-Q2")], "a quarter"),
        ] {
            #expect(throws: ProtocolError.self, Comment(rawValue: why)) { try validate(fields) }
        }
    }
}
