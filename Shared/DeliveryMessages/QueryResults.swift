/// A query's result body: every one says which upstream positions it reflects.
public protocol QueryResult: Codable, Sendable {
    var asOf: [String: UInt64] { get set }
}

public struct UnitsResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    /// The sources the figure rests on.
    public var sources: [String]
    public var reported: Int64?
    public var computed: Int64?
    /// For a computed quarter or year: whether every month has a figure.
    public var complete: Bool
    /// Each source's latest report for this entity and period.
    public var bySource: [SourceFigure]
    public var cause: Cause?
    public var asOf: [String: UInt64] = [:]

    public init(
        entity: EntityRef, period: String, units: Int64, basis: Basis, qualifier: Qualifier, sources: [String],
        reported: Int64?, computed: Int64?, complete: Bool, bySource: [SourceFigure], cause: Cause?
    ) {
        self.entity = entity
        self.period = period
        self.units = units
        self.basis = basis
        self.qualifier = qualifier
        self.sources = sources
        self.reported = reported
        self.computed = computed
        self.complete = complete
        self.bySource = bySource
        self.cause = cause
    }
}

public struct ShareResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var of: EntityRef
    public var period: String
    /// units / ofUnits, from 0 to 1 (null when ofUnits is 0).
    public var share: Double?
    public var units: Int64
    public var ofUnits: Int64
    /// ofUnits minus units: the rest of the whole.
    public var otherUnits: Int64
    public var qualifier: Qualifier
    public var asOf: [String: UInt64] = [:]

    public init(
        entity: EntityRef, of: EntityRef, period: String, share: Double?, units: Int64, ofUnits: Int64,
        otherUnits: Int64, qualifier: Qualifier
    ) {
        self.entity = entity
        self.of = of
        self.period = period
        self.share = share
        self.units = units
        self.ofUnits = ofUnits
        self.otherUnits = otherUnits
        self.qualifier = qualifier
    }
}

public struct GrowthResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var vs: GrowthBasis
    /// units / previousUnits - 1 (0.6133 = +61.33 %); null when previousUnits is 0.
    public var growth: Double?
    public var units: Int64
    public var previousUnits: Int64
    public var previousPeriod: String
    public var qualifier: Qualifier
    public var asOf: [String: UInt64] = [:]

    public init(
        entity: EntityRef, period: String, vs: GrowthBasis, growth: Double?, units: Int64, previousUnits: Int64,
        previousPeriod: String, qualifier: Qualifier
    ) {
        self.entity = entity
        self.period = period
        self.vs = vs
        self.growth = growth
        self.units = units
        self.previousUnits = previousUnits
        self.previousPeriod = previousPeriod
        self.qualifier = qualifier
    }
}

public struct YTDResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var from: String
    public var units: Int64
    public var qualifier: Qualifier
    /// Whether every month from January on has a figure.
    public var complete: Bool
    public var asOf: [String: UInt64] = [:]

    public init(entity: EntityRef, period: String, from: String, units: Int64, qualifier: Qualifier, complete: Bool) {
        self.entity = entity
        self.period = period
        self.from = from
        self.units = units
        self.qualifier = qualifier
        self.complete = complete
    }
}

public struct RankingRow: Codable, Sendable, Hashable {
    public var rank: Int
    public var entity: EntityRef
    public var units: Int64
    /// units over the total of the rows returned.
    public var share: Double?
    public var basis: Basis
    public var qualifier: Qualifier

    public init(rank: Int, entity: EntityRef, units: Int64, share: Double?, basis: Basis, qualifier: Qualifier) {
        self.rank = rank
        self.entity = entity
        self.units = units
        self.share = share
        self.basis = basis
        self.qualifier = qualifier
    }
}

public struct RankingResult: QueryResult, Hashable {
    public var period: String
    public var level: Level
    public var within: EntityRef
    public var rows: [RankingRow]
    /// The sum of the rows' units.
    public var total: Int64
    /// How many entities had a figure before `top` cut the list.
    public var candidates: Int
    public var asOf: [String: UInt64] = [:]

    public init(period: String, level: Level, within: EntityRef, rows: [RankingRow], total: Int64, candidates: Int) {
        self.period = period
        self.level = level
        self.within = within
        self.rows = rows
        self.total = total
        self.candidates = candidates
    }
}

public struct StreakResult: QueryResult, Hashable {
    public var segment: String
    public var period: String
    /// The segment's top model in the period (null when no model of it has a figure).
    public var leader: EntityRef?
    public var units: Int64
    /// Consecutive months up to the period that the leader (or `entity`) has led.
    public var months: Int
    public var entity: EntityRef?
    public var leads: Bool?
    public var asOf: [String: UInt64] = [:]

    public init(
        segment: String, period: String, leader: EntityRef?, units: Int64, months: Int, entity: EntityRef?,
        leads: Bool?
    ) {
        self.segment = segment
        self.period = period
        self.leader = leader
        self.units = units
        self.months = months
        self.entity = entity
        self.leads = leads
    }
}

public struct SeriesPoint: Codable, Sendable, Hashable {
    public var period: String
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    /// False where nothing at all was reported for the period (units is then 0), or where a
    /// computed quarter or year misses a month.
    public var complete: Bool

    public init(period: String, units: Int64, basis: Basis, qualifier: Qualifier, complete: Bool) {
        self.period = period
        self.units = units
        self.basis = basis
        self.qualifier = qualifier
        self.complete = complete
    }
}

public struct SeriesResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var from: String
    public var to: String
    public var granularity: Granularity
    public var points: [SeriesPoint]
    public var asOf: [String: UInt64] = [:]

    public init(entity: EntityRef, from: String, to: String, granularity: Granularity, points: [SeriesPoint]) {
        self.entity = entity
        self.from = from
        self.to = to
        self.granularity = granularity
        self.points = points
    }
}

public struct ReconcileChild: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier

    public init(entity: EntityRef, units: Int64, basis: Basis, qualifier: Qualifier) {
        self.entity = entity
        self.units = units
        self.basis = basis
        self.qualifier = qualifier
    }
}

public struct ReconcileResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    /// The figure reported for the entity itself (null when none was).
    public var reported: Int64?
    public var childrenSum: Int64
    /// reported minus childrenSum (null when nothing was reported for the entity itself).
    public var unattributed: Int64?
    public var qualifier: Qualifier?
    public var childrenQualifier: Qualifier
    public var children: [ReconcileChild]
    /// Each source's report for the entity and period.
    public var sources: [SourceFigure]
    public var asOf: [String: UInt64] = [:]

    public init(
        entity: EntityRef, period: String, reported: Int64?, childrenSum: Int64, unattributed: Int64?,
        qualifier: Qualifier?, childrenQualifier: Qualifier, children: [ReconcileChild], sources: [SourceFigure]
    ) {
        self.entity = entity
        self.period = period
        self.reported = reported
        self.childrenSum = childrenSum
        self.unattributed = unattributed
        self.qualifier = qualifier
        self.childrenQualifier = childrenQualifier
        self.children = children
        self.sources = sources
    }
}

public struct ConvertResult: QueryResult, Hashable {
    public var amount: Double
    public var from: String
    public var to: String
    public var rate: Double
    public var date: String?
    public var asOf: [String: UInt64] = [:]

    public init(amount: Double, from: String, to: String, rate: Double, date: String?) {
        self.amount = amount
        self.from = from
        self.to = to
        self.rate = rate
        self.date = date
    }
}

public struct CatalogResult: QueryResult {
    public var groups: [GroupEntry]
    public var brands: [BrandEntry]
    public var models: [ModelEntry]
    public var segments: [SegmentEntry]
    public var fx: [FXRate]
    public var asOf: [String: UInt64] = [:]

    public init(_ document: CatalogDocument) {
        groups = document.groups
        brands = document.brands
        models = document.models
        segments = document.segments
        fx = document.fx
    }
}
