import DeliveryMessages

/// Where queries read figures from: the aggregate's `FigureBook` or a query replica.
public protocol FigureStore {
    var catalog: Catalog { get }
    /// The figure of an entity in a period, or nil when nothing was reported for it or below it:
    /// of the store's measure (deliveries, or the one a `MeasureView` reads).
    func figure(_ entity: EntityKey, _ period: Period) -> FigureBody?
    /// A figure's units, qualifier, basis and completeness, without building its body.
    func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary?
    /// No figure is for a month before this one (nil: not known; histories then look back
    /// `QueryEngine.historyMonths`).
    var earliestMonth: Period? { get }
    /// The measure the store's figures count (deliveries, or a `MeasureView`'s).
    var measure: Measure { get }
}

/// What the queries that walk a history read of each figure.
public struct FigureSummary: Sendable, Hashable {
    public var units: Int64
    public var qualifier: Qualifier
    public var basis: Basis
    public var complete: Bool
    /// The least and the most it can be.
    public var interval: Interval

    public init(units: Int64, qualifier: Qualifier, basis: Basis, complete: Bool, interval: Interval? = nil) {
        self.units = units
        self.qualifier = qualifier
        self.basis = basis
        self.complete = complete
        self.interval = interval ?? Interval.of(units, qualifier)
    }
}

extension FigureStore {
    public func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary? {
        figure(entity, period).map { FigureSummary(units: $0.units, qualifier: $0.qualifier, basis: $0.basis, complete: $0.complete, interval: $0.interval) }
    }

    public var earliestMonth: Period? { nil }

    public var measure: Measure { .default }
}

/// The key of one figure: its entity, period and measure.
public struct FigureKey: Hashable, Sendable {
    public let entity: EntityKey
    public let period: Period
    public let measure: Measure

    public init(_ entity: EntityKey, _ period: Period, _ measure: Measure = .default) {
        self.entity = entity
        self.period = period
        self.measure = measure
    }
}

extension FigureBody {
    /// The figure's key, or nil when its period does not parse.
    public var key: FigureKey? {
        guard let period = try? Period(parsing: period) else { return nil }
        return FigureKey(EntityKey(entity.level, entity.id), period, measure ?? .default)
    }
}

/// A store with every measure's figures (the aggregate's book, a replica), read by measure.
public protocol MeasuredStore: FigureStore {
    func figure(_ entity: EntityKey, _ period: Period, _ measure: Measure) -> FigureBody?
    func summary(_ entity: EntityKey, _ period: Period, _ measure: Measure) -> FigureSummary?
}

/// One measure's figures of a store, as queries read them: every query kind answers from a view,
/// so each measure has its own sums, growth, rankings, records and streaks.
public struct MeasureView<Base: MeasuredStore>: FigureStore {
    public let base: Base
    public let measure: Measure

    public init(_ base: Base, _ measure: Measure) {
        self.base = base
        self.measure = measure
    }

    public var catalog: Catalog { base.catalog }
    public var earliestMonth: Period? { base.earliestMonth }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        base.figure(entity, period, measure)
    }

    public func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary? {
        base.summary(entity, period, measure)
    }
}
