import DeliveryMessages

/// Where queries read figures from: the aggregate's `FigureBook` or a query replica.
public protocol FigureStore {
    var catalog: Catalog { get }
    /// The figure of an entity in a period, or nil when nothing was reported for it or below it.
    func figure(_ entity: EntityKey, _ period: Period) -> FigureBody?
    /// A figure's units, qualifier, basis and completeness, without building its body.
    func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary?
    /// No figure is for a month before this one (nil: not known; histories then look back
    /// `QueryEngine.historyMonths`).
    var earliestMonth: Period? { get }
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
}

/// The key of one figure.
public struct FigureKey: Hashable, Sendable {
    public let entity: EntityKey
    public let period: Period

    public init(_ entity: EntityKey, _ period: Period) {
        self.entity = entity
        self.period = period
    }
}

extension FigureBody {
    /// The figure's key, or nil when its period does not parse.
    public var key: FigureKey? {
        guard let period = try? Period(parsing: period) else { return nil }
        return FigureKey(EntityKey(entity.level, entity.id), period)
    }
}
