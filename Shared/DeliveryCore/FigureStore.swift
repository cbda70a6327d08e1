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
    /// The powertrain whose parts the store's figures are (nil: the whole).
    var powertrain: Powertrain? { get }
    /// A figure's earlier reports, of the store's measure and powertrain (none where not kept).
    func revisions(_ entity: EntityKey, _ period: Period) -> [SourceFigure]
    /// Another powertrain's figure of the same measure (nil: the whole): a share within NEV, the
    /// brief's split, what a sum of parts leaves out. A store of one powertrain has no other.
    func summary(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureSummary?
    func figure(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureBody?
}

/// What the queries that walk a history read of each figure.
public struct FigureSummary: Sendable, Hashable {
    public var units: Int64
    public var qualifier: Qualifier
    public var basis: Basis
    public var complete: Bool
    /// The least and the most it can be.
    public var interval: Interval
    /// A computed figure that is the sum of its powertrain parts (not of its children's).
    public var fromParts: Bool

    public init(units: Int64, qualifier: Qualifier, basis: Basis, complete: Bool, interval: Interval? = nil, fromParts: Bool = false) {
        self.units = units
        self.qualifier = qualifier
        self.basis = basis
        self.complete = complete
        self.interval = interval ?? Interval.of(units, qualifier)
        self.fromParts = fromParts
    }

    public init(_ body: FigureBody) {
        self.init(
            units: body.units, qualifier: body.qualifier, basis: body.basis, complete: body.complete, interval: body.interval,
            fromParts: body.computedFrom == .powertrains
        )
    }
}

extension FigureStore {
    public func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary? {
        figure(entity, period).map(FigureSummary.init)
    }

    public var earliestMonth: Period? { nil }

    public var measure: Measure { .default }

    public var powertrain: Powertrain? { nil }

    public func revisions(_ entity: EntityKey, _ period: Period) -> [SourceFigure] { [] }

    public func summary(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureSummary? {
        powertrain == self.powertrain ? summary(entity, period) : nil
    }

    public func figure(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureBody? {
        powertrain == self.powertrain ? figure(entity, period) : nil
    }
}

/// The key of one figure: its entity, period, measure and powertrain (nil: the whole).
public struct FigureKey: Hashable, Sendable {
    public let entity: EntityKey
    public let period: Period
    public let measure: Measure
    public let powertrain: Powertrain?

    public init(_ entity: EntityKey, _ period: Period, _ measure: Measure = .default, _ powertrain: Powertrain? = nil) {
        self.entity = entity
        self.period = period
        self.measure = measure
        self.powertrain = powertrain
    }
}

extension FigureBody {
    /// The figure's key, or nil when its period does not parse.
    public var key: FigureKey? {
        guard let period = try? Period(parsing: period) else { return nil }
        return FigureKey(EntityKey(entity.level, entity.id), period, measure ?? .default, powertrain)
    }
}

/// A store with every measure's and powertrain's figures (the aggregate's book, a replica).
public protocol MeasuredStore: FigureStore {
    func figure(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> FigureBody?
    func summary(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> FigureSummary?
    /// A figure's earlier reports (revisions, late reports), in the order of reports.
    func revisions(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> [SourceFigure]
}

extension MeasuredStore {
    public func figure(_ entity: EntityKey, _ period: Period, _ measure: Measure) -> FigureBody? {
        figure(entity, period, measure, nil)
    }

    public func summary(_ entity: EntityKey, _ period: Period, _ measure: Measure) -> FigureSummary? {
        summary(entity, period, measure, nil)
    }

    public func summary(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureSummary? {
        summary(entity, period, .default, powertrain)
    }

    public func figure(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureBody? {
        figure(entity, period, .default, powertrain)
    }

    public func revisions(_ entity: EntityKey, _ period: Period) -> [SourceFigure] {
        revisions(entity, period, .default, nil)
    }
}

/// One measure's figures of a store, and of one powertrain (or the whole), as queries read them:
/// every query kind answers from a view, so each measure and powertrain has its own sums, growth,
/// rankings, records and streaks.
public struct MeasureView<Base: MeasuredStore>: FigureStore {
    public let base: Base
    public let measure: Measure
    public let powertrain: Powertrain?

    public init(_ base: Base, _ measure: Measure, _ powertrain: Powertrain? = nil) {
        self.base = base
        self.measure = measure
        self.powertrain = powertrain
    }

    public var catalog: Catalog { base.catalog }
    public var earliestMonth: Period? { base.earliestMonth }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        base.figure(entity, period, measure, powertrain)
    }

    public func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary? {
        base.summary(entity, period, measure, powertrain)
    }

    public func summary(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureSummary? {
        base.summary(entity, period, measure, powertrain)
    }

    public func figure(_ entity: EntityKey, _ period: Period, powertrain: Powertrain?) -> FigureBody? {
        base.figure(entity, period, measure, powertrain)
    }

    public func revisions(_ entity: EntityKey, _ period: Period) -> [SourceFigure] {
        base.revisions(entity, period, measure, powertrain)
    }
}
