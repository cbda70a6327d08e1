import DeliveryMessages

/// Answers every query of PROTOCOL.md from a figure store. Pure: no sockets, no clocks.
public struct QueryEngine<Store: FigureStore> {
    public let store: Store
    /// What this engine has worked out of its store's coverage: a query (or a batch's facts) walks
    /// the same months many times, and the store it holds does not change.
    let memo: CoverageMemo

    public init(_ store: Store) {
        self.store = store
        memo = CoverageMemo()
    }

    /// An engine that takes what `memo` knows of the store's coverage and adds to it (the
    /// aggregate's, kept across turns).
    public init(_ store: Store, memo: CoverageMemo) {
        self.store = store
        self.memo = memo
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

    /// A figure's value with its coverage applied: a sum short of an expected part is a lower
    /// bound (`short`).
    func value(_ entity: EntityKey, _ period: Period) -> FigureValue {
        value(entity, period, in: store.powertrain)
    }

    /// A figure's value of another powertrain (nil: the whole) of the store's measure.
    func value(_ entity: EntityKey, _ period: Period, in powertrain: Powertrain?) -> FigureValue {
        guard let figure = store.summary(entity, period, powertrain: powertrain) else { return .none }
        var value = FigureValue(
            present: true, units: figure.units, qualifier: figure.qualifier, basis: figure.basis, complete: figure.complete,
            interval: figure.interval
        )
        if figure.basis == .computed, isShort(entity, period, powertrain) {
            (value.qualifier, value.interval) = FigureValue.lowerBound(value.qualifier, value.interval)
            value.short = true
        }
        return value
    }

    /// The figure from one source's reports alone: its report where it has one, else the sum of
    /// the parts (children for a month, months for a quarter, quarters for a year).
    func value(_ entity: EntityKey, _ period: Period, source: String) -> FigureValue {
        let figure = store.figure(entity, period)
        if let slot = figure?.sources.first(where: { $0.source.lowercased() == source.lowercased() }) {
            return FigureValue(present: true, units: slot.units, qualifier: slot.qualifier, basis: .reported, complete: true, interval: slot.interval)
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
                sum.add(part)
            }
            if !part.present || !part.complete { sum.complete = false }
        }
        if period.kind == .month { sum.complete = sum.present }
        return sum.present ? sum : .none
    }

    /// The sources a figure rests on: the winning source of a reported figure, or every source
    /// beneath a computed one (its children's, or its powertrain parts').
    func sources(_ entity: EntityKey, _ period: Period) -> Set<String> {
        sources(entity, period, store.powertrain)
    }

    func sources(_ entity: EntityKey, _ period: Period, _ powertrain: Powertrain?) -> Set<String> {
        guard let figure = store.figure(entity, period, powertrain: powertrain) else { return [] }
        if figure.basis == .reported, let source = figure.source { return [source] }
        var result: Set<String> = []
        if figure.computedFrom == .powertrains {
            for part in Powertrain.parts(of: powertrain) { result.formUnion(sources(entity, period, part)) }
            return result
        }
        switch period.kind {
        case .month:
            for child in catalog.children(of: entity) { result.formUnion(sources(child, period, powertrain)) }
        case .quarter, .year:
            for part in period.parts { result.formUnion(sources(entity, part, powertrain)) }
        }
        return result
    }
}

/// A figure's value, with "nothing reported" as zero.
struct FigureValue {
    var present: Bool
    var units: Int64
    var qualifier: Qualifier
    var basis: Basis
    var complete: Bool
    /// The least and the most it can be; every comparison is decided by it.
    var interval: Interval
    /// A sum short of an expected part (`Coverage`): a lower bound, "at least" in words.
    var short = false

    init(present: Bool, units: Int64, qualifier: Qualifier, basis: Basis, complete: Bool, interval: Interval? = nil) {
        self.present = present
        self.units = units
        self.qualifier = qualifier
        self.basis = basis
        self.complete = complete
        self.interval = interval ?? Interval.of(units, qualifier)
    }

    static let none = FigureValue(present: false, units: 0, qualifier: .exact, basis: .computed, complete: false)

    /// Adds a part: its units, its qualifier (`Qualifier.combined`) and its interval.
    mutating func add(_ part: FigureValue) {
        units = units.saturatingAdding(part.units)
        qualifier = qualifier.combined(with: part.qualifier)
        interval = interval.adding(part.interval)
        if part.short { short = true }
    }

    /// The interval's wire fields: only an approximate value states them.
    var low: Int64? { qualifier == .approximate ? interval.low : nil }
    var high: Int64? { qualifier == .approximate ? interval.high : nil }
}
