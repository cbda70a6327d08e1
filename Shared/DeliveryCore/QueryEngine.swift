import DeliveryMessages

/// Answers every query of PROTOCOL.md from a figure store. Pure: no sockets, no clocks.
public struct QueryEngine<Store: FigureStore> {
    public let store: Store

    public init(_ store: Store) {
        self.store = store
    }

    var catalog: Catalog { store.catalog }

    // MARK: Helpers

    func period(_ text: String, field: String = "period") throws(ProtocolError) -> Period {
        do {
            return try Period(parsing: text)
        } catch {
            throw ProtocolError(.invalidQuery, error.description, details: ["field": .string(field)])
        }
    }

    func entity(_ selector: EntitySelector, field: String = "entity") throws(ProtocolError) -> EntityKey {
        do {
            return try catalog.resolve(selector)
        } catch var failure {
            var details = failure.details ?? [:]
            details["field"] = .string(field)
            failure.details = details
            throw failure
        }
    }

    static func invalid(_ message: String, field: String) -> ProtocolError {
        ProtocolError(.invalidQuery, message, details: ["field": .string(field)])
    }

    func value(_ entity: EntityKey, _ period: Period) -> FigureValue {
        guard let figure = store.figure(entity, period) else { return .none }
        return FigureValue(present: true, units: figure.units, qualifier: figure.qualifier, basis: figure.basis, complete: figure.complete)
    }

    /// The figure from one source's reports alone: its report where it has one, else the sum of
    /// the parts (children for a month, months for a quarter, quarters for a year).
    func value(_ entity: EntityKey, _ period: Period, source: String) -> FigureValue {
        let figure = store.figure(entity, period)
        if let slot = figure?.sources.first(where: { $0.source.lowercased() == source.lowercased() }) {
            return FigureValue(present: true, units: slot.units, qualifier: slot.qualifier, basis: .reported, complete: true)
        }
        guard figure != nil else { return .none }
        let parts: [FigureValue]
        switch period.kind {
        case .month: parts = catalog.children(of: entity).map { value($0, period, source: source) }
        case .quarter, .year: parts = period.parts.map { value(entity, $0, source: source) }
        }
        var sum = FigureValue(present: false, units: 0, qualifier: .exact, basis: .computed, complete: true)
        for part in parts {
            if part.present {
                sum.present = true
                sum.units = sum.units.saturatingAdding(part.units)
                sum.qualifier = sum.qualifier.combined(with: part.qualifier)
            }
            if !part.present || !part.complete { sum.complete = false }
        }
        if period.kind == .month { sum.complete = sum.present }
        return sum.present ? sum : .none
    }

    /// The sources a figure rests on: the winning source of a reported figure, or every source
    /// beneath a computed one.
    func sources(_ entity: EntityKey, _ period: Period) -> Set<String> {
        guard let figure = store.figure(entity, period) else { return [] }
        if figure.basis == .reported, let source = figure.source { return [source] }
        var result: Set<String> = []
        switch period.kind {
        case .month:
            for child in catalog.children(of: entity) { result.formUnion(sources(child, period)) }
        case .quarter, .year:
            for part in period.parts { result.formUnion(sources(entity, part)) }
        }
        return result
    }

    // MARK: Queries

    public func units(_ query: UnitsQuery) throws(ProtocolError) -> UnitsResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let ref = catalog.ref(key)
        if let source = query.source {
            let value = value(key, period, source: source)
            let slots = store.figure(key, period)?.sources.filter { $0.source.lowercased() == source.lowercased() } ?? []
            return UnitsResult(
                entity: ref, period: period.description, units: value.units, basis: value.basis,
                qualifier: value.qualifier, sources: value.present ? [slots.first?.source ?? source] : [],
                reported: slots.first?.units, computed: value.basis == .computed && value.present ? value.units : nil,
                complete: value.complete, bySource: slots, cause: nil
            )
        }
        guard let figure = store.figure(key, period) else {
            return UnitsResult(
                entity: ref, period: period.description, units: 0, basis: .computed, qualifier: .exact, sources: [],
                reported: nil, computed: nil, complete: false, bySource: [], cause: nil
            )
        }
        return UnitsResult(
            entity: ref, period: period.description, units: figure.units, basis: figure.basis,
            qualifier: figure.qualifier, sources: sources(key, period).sorted(), reported: figure.reported,
            computed: figure.computed, complete: figure.complete, bySource: figure.sources, cause: figure.cause
        )
    }

    public func share(_ query: ShareQuery) throws(ProtocolError) -> ShareResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let whole: EntityKey
        if let of = query.of {
            whole = try entity(of, field: "of")
            guard catalog.isUnder(key, whole) else {
                throw Self.invalid("\(key.level.rawValue) '\(key.id)' is not part of \(whole.level.rawValue) '\(whole.id)'", field: "of")
            }
        } else {
            guard let parent = catalog.parent(of: key) else {
                throw Self.invalid("the market has no parent; name the whole with 'of'", field: "of")
            }
            whole = parent
        }
        let part = value(key, period)
        let total = value(whole, period)
        return ShareResult(
            entity: catalog.ref(key), of: catalog.ref(whole), period: period.description,
            share: total.units > 0 ? Double(part.units) / Double(total.units) : nil,
            units: part.units, ofUnits: total.units, otherUnits: total.units.saturatingSubtracting(part.units),
            qualifier: part.qualifier.combined(with: total.qualifier)
        )
    }

    public func growth(_ query: GrowthQuery) throws(ProtocolError) -> GrowthResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let previous: Period
        switch (query.vs, period.kind) {
        case (.mom, .month): previous = period.previous
        case (.qoq, .quarter): previous = period.previous
        case (.yoy, _): previous = period.sameLastYear
        case (.mom, _):
            throw Self.invalid("mom compares a month with the month before; \(period) is not a month", field: "vs")
        case (.qoq, _):
            throw Self.invalid("qoq compares a quarter with the quarter before; \(period) is not a quarter", field: "vs")
        }
        let now = value(key, period)
        let before = value(key, previous)
        return GrowthResult(
            entity: catalog.ref(key), period: period.description, vs: query.vs,
            growth: before.units > 0 && now.present ? Double(now.units) / Double(before.units) - 1 : nil,
            units: now.units, previousUnits: before.units, previousPeriod: previous.description,
            qualifier: now.qualifier.combined(with: before.qualifier)
        )
    }

    public func ytd(_ query: YTDQuery) throws(ProtocolError) -> YTDResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        guard period.kind == .month else {
            throw Self.invalid("year to date runs to a month (YYYY-MM), not \(period)", field: "period")
        }
        let first = Period.month(period.year, 1)
        var units: Int64 = 0
        var qualifier = Qualifier.exact
        var complete = true
        for month in first.through(period) {
            let value = value(key, month)
            if value.present {
                units = units.saturatingAdding(value.units)
                qualifier = qualifier.combined(with: value.qualifier)
            } else {
                complete = false
            }
        }
        return YTDResult(
            entity: catalog.ref(key), period: period.description, from: first.description, units: units,
            qualifier: qualifier, complete: complete
        )
    }

    func segmentID(_ name: String) throws(ProtocolError) -> String {
        let lowered = name.lowercased()
        if let segment = catalog.segments.values.first(where: { $0.id == lowered || $0.name.lowercased() == lowered }) {
            return segment.id
        }
        throw ProtocolError(
            .unknownEntity, "no segment named '\(name)' in the catalog",
            details: ["field": .string("segment"), "name": .string(name)]
        )
    }

    /// The models of a segment, ranked in a period: units descending, ties to the smaller id.
    func ranked(_ candidates: [EntityKey], _ period: Period) -> [(EntityKey, FigureBody)] {
        candidates
            .compactMap { key in store.figure(key, period).map { (key, $0) } }
            .sorted { $0.1.units != $1.1.units ? $0.1.units > $1.1.units : $0.0.id < $1.0.id }
    }

    public func ranking(_ query: RankingQuery) throws(ProtocolError) -> RankingResult {
        let period = try period(query.period)
        guard query.level != .market else {
            throw Self.invalid("level is model, brand or group", field: "level")
        }
        let within = try query.within.map { selector throws(ProtocolError) in try entity(selector, field: "within") } ?? .market
        guard within.level < query.level else {
            throw Self.invalid("a ranking of \(query.level.rawValue)s within a \(within.level.rawValue) is empty; rank a lower level", field: "within")
        }
        if let top = query.top, top < 1 {
            throw Self.invalid("top must be at least 1", field: "top")
        }
        var candidates = catalog.descendants(of: within, at: query.level)
        if query.segment != nil || query.powertrain != nil {
            guard query.level == .model else {
                throw Self.invalid("segment and powertrain select models; use level model", field: query.segment != nil ? "segment" : "powertrain")
            }
        }
        if let segment = query.segment {
            let id = try segmentID(segment)
            candidates = candidates.filter { catalog.model($0.id)?.segment == id }
        }
        if let powertrain = query.powertrain?.lowercased() {
            candidates = candidates.filter { key in
                catalog.model(key.id)?.powertrains?.contains { $0.lowercased() == powertrain } ?? false
            }
        }
        let all = ranked(candidates, period)
        let rows = query.top.map { Array(all.prefix($0)) } ?? all
        let total = rows.reduce(Int64(0)) { $0.saturatingAdding($1.1.units) }
        return RankingResult(
            period: period.description, level: query.level, within: catalog.ref(within),
            rows: rows.enumerated().map { index, row in
                RankingRow(
                    rank: index + 1, entity: row.1.entity, units: row.1.units,
                    share: total > 0 ? Double(row.1.units) / Double(total) : nil,
                    basis: row.1.basis, qualifier: row.1.qualifier
                )
            },
            total: total, candidates: all.count
        )
    }

    public func streak(_ query: StreakQuery) throws(ProtocolError) -> StreakResult {
        let segment = try segmentID(query.segment)
        let period = try period(query.period)
        guard period.kind == .month else {
            throw Self.invalid("a streak counts months; period must be a month (YYYY-MM)", field: "period")
        }
        let models = catalog.models.values.filter { $0.segment == segment }.map { EntityKey(.model, $0.id) }
        func leader(_ month: Period) -> (EntityKey, FigureBody)? { ranked(models, month).first }
        var subject: EntityKey?
        if let selector = query.entity {
            let key = try entity(selector)
            guard key.level == .model, catalog.model(key.id)?.segment == segment else {
                throw Self.invalid("'\(key.id)' is not a model of segment '\(segment)'", field: "entity")
            }
            subject = key
        }
        let top = leader(period)
        let counted = subject ?? top?.0
        var months = 0
        if let counted {
            var month = period
            while let current = leader(month), current.0 == counted {
                months += 1
                month = month.previous
            }
        }
        return StreakResult(
            segment: segment, period: period.description, leader: top?.1.entity, units: top?.1.units ?? 0,
            months: months, entity: subject.map { catalog.ref($0) }, leads: subject.map { $0 == top?.0 }
        )
    }

    public static var maxSeriesPoints: Int { 1200 }

    public func series(_ query: SeriesQuery) throws(ProtocolError) -> SeriesResult {
        let key = try entity(query.entity)
        var from = try period(query.from, field: "from")
        var to = try period(query.to, field: "to")
        let granularity = query.granularity ?? {
            switch from.kind {
            case .month: .month
            case .quarter: .quarter
            case .year: .year
            }
        }()
        func convert(_ period: Period, end: Bool) -> Period {
            switch granularity {
            case .month: end ? period.months.last! : period.months.first!
            case .quarter: period.kind == .year ? .quarter(period.year, end ? 4 : 1) : period.quarter!
            case .year: period.wholeYear
            }
        }
        from = convert(from, end: false)
        to = convert(to, end: true)
        guard from <= to else {
            throw Self.invalid("from (\(from)) is after to (\(to))", field: "from")
        }
        let periods = from.through(to)
        guard periods.count <= Self.maxSeriesPoints else {
            throw Self.invalid("a series has at most \(Self.maxSeriesPoints) points", field: "to")
        }
        let points = periods.map { period in
            let value = value(key, period)
            return SeriesPoint(
                period: period.description, units: value.units, basis: value.basis, qualifier: value.qualifier,
                complete: value.present && value.complete
            )
        }
        return SeriesResult(
            entity: catalog.ref(key), from: from.description, to: to.description, granularity: granularity, points: points
        )
    }

    public func reconcile(_ query: ReconcileQuery) throws(ProtocolError) -> ReconcileResult {
        let key = try entity(query.entity)
        let period = try period(query.period)
        let figure = store.figure(key, period)
        var children: [ReconcileChild] = []
        var sum: Int64 = 0
        var qualifier = Qualifier.exact
        for child in catalog.children(of: key) {
            guard let value = store.figure(child, period) else { continue }
            children.append(ReconcileChild(entity: value.entity, units: value.units, basis: value.basis, qualifier: value.qualifier))
            sum = sum.saturatingAdding(value.units)
            qualifier = qualifier.combined(with: value.qualifier)
        }
        return ReconcileResult(
            entity: catalog.ref(key), period: period.description, reported: figure?.reported, childrenSum: sum,
            unattributed: figure?.reported.map { $0.saturatingSubtracting(sum) }, qualifier: figure?.reportedQualifier,
            childrenQualifier: qualifier, children: children, sources: figure?.sources ?? []
        )
    }

    public func convert(_ query: ConvertQuery) throws(ProtocolError) -> ConvertResult {
        guard query.amount.isFinite else {
            throw Self.invalid("amount must be a finite number", field: "amount")
        }
        guard let rate = catalog.rate(from: query.from, to: query.to) else {
            throw Self.invalid("the catalog has no rate between \(query.from) and \(query.to)", field: "to")
        }
        return ConvertResult(
            amount: query.amount * rate.rate, from: query.from.uppercased(), to: query.to.uppercased(), rate: rate.rate,
            date: rate.date
        )
    }

    public func catalogResult() -> CatalogResult {
        CatalogResult(catalog.document)
    }
}

    /// A figure's value, with "nothing reported" as zero.
struct FigureValue {
    var present: Bool
    var units: Int64
    var qualifier: Qualifier
    var basis: Basis
    var complete: Bool

    static let none = FigureValue(present: false, units: 0, qualifier: .exact, basis: .computed, complete: false)
}

