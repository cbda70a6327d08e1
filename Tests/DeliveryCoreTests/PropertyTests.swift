import DeliveryCore
import DeliveryMessages
import Testing
import TestSupport


/// Random sequences of reports and revisions, at every level and from several sources: after each
/// sequence, every figure the book keeps incrementally equals the figure computed from scratch
/// from the reports that stand.
@Suite struct PropertyTests {
    struct Oracle {
        let catalog: Catalog
        /// (entity, period, source) → (units, qualifier, reportedAt, arrival)
        var latest: [String: (EntityKey, Period, String, Int64, Qualifier, Int64, Int)] = [:]

        func figure(_ entity: EntityKey, _ period: Period) -> (Int64, Qualifier)? {
            let reports = latest.values.filter { $0.0 == entity && $0.1 == period }
            if let best = reports.max(by: { ($0.5, $0.6) < ($1.5, $1.6) }) {
                return (best.3, best.4)
            }
            let parts: [(Int64, Qualifier)]
            switch period.kind {
            case .month: parts = catalog.children(of: entity).compactMap { figure($0, period) }
            case .quarter, .year: parts = period.parts.compactMap { figure(entity, $0) }
            }
            guard !parts.isEmpty else { return nil }
            var qualifier = Qualifier.exact
            var hasAtLeast = false
            var hasAtMost = false
            var approximate = false
            for part in parts {
                switch part.1 {
                case .atLeast: hasAtLeast = true
                case .atMost: hasAtMost = true
                case .approximate: approximate = true
                case .exact: break
                }
            }
            if approximate || (hasAtLeast && hasAtMost) {
                qualifier = .approximate
            } else if hasAtLeast {
                qualifier = .atLeast
            } else if hasAtMost {
                qualifier = .atMost
            }
            return (parts.reduce(0) { $0 + $1.0 }, qualifier)
        }
    }

    @Test(arguments: 1...12)
    func incrementalFiguresEqualSumsOfTheirParts(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        let catalog = try Catalog(Sample.load().catalog)
        var book = FigureBook(catalog: catalog)
        var oracle = Oracle(catalog: catalog)
        let entities: [EntityKey] =
            [.market] + catalog.groups.keys.map { EntityKey(.group, $0) } + catalog.brands.keys.map { EntityKey(.brand, $0) }
            + catalog.models.keys.map { EntityKey(.model, $0) }
        let periods: [Period] = (1...6).map { .month(2025, $0) } + [.quarter(2025, 1), .month(2024, 12)]
        let sources = ["CPCA", "CAAM", "Press"]
        let count = Int.random(in: 20...120, using: &random)
        for arrival in 1...count {
            // Mostly models, sometimes higher levels, so that reported figures sit over computed ones.
            let entity = Int.random(in: 0..<4, using: &random) == 0
                ? entities.randomElement(using: &random)! : EntityKey(.model, catalog.models.keys.sorted().randomElement(using: &random)!)
            let period = periods.randomElement(using: &random)!
            let source = sources.randomElement(using: &random)!
            let units = Int64.random(in: 0...50_000, using: &random)
            let qualifier = Qualifier.allCases.randomElement(using: &random)!
            let day = Int.random(in: 1...28, using: &random)
            let reportedAt = "2025-06-\(day < 10 ? "0" : "")\(day)T00:00:00Z"
            let path = catalog.path(of: entity)
            let ref = catalog.ref(entity)
            let stored = DeliveryReport(
                id: "r\(arrival)", source: source, period: period.description, group: path.first,
                brand: path.count > 1 ? path[1] : nil, model: path.count > 2 ? path[2] : nil, units: units,
                qualifier: qualifier, reportedAt: reportedAt, note: nil, entity: ref
            )
            book.apply(stored, stream: "s", seq: UInt64(arrival))
            // The report order: a source's report stands until one later in it (reportedAt, then
            // seq on this one stream) comes; one that arrives later but is earlier changes nothing.
            let slot = "\(entity)|\(period)|\(source)"
            let at = Timestamp.millis(reportedAt)!
            if let held = oracle.latest[slot], (held.5, held.6) > (at, arrival) { continue }
            oracle.latest[slot] = (entity, period, source, units, qualifier, at, arrival)
        }
        let allPeriods = periods + [.quarter(2025, 2), .quarter(2024, 4), .year(2025), .year(2024)]
        for entity in entities {
            for period in allPeriods {
                let expected = oracle.figure(entity, period)
                let actual = book.figure(entity, period)
                #expect(actual?.units == expected?.0, "units of \(entity) in \(period), seed \(seed)")
                #expect(actual?.qualifier == expected?.1, "qualifier of \(entity) in \(period), seed \(seed)")
            }
        }
    }
}
