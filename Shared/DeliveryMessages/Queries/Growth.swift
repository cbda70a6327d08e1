public enum GrowthBasis: String, Codable, Sendable, CaseIterable {
    case mom, qoq, yoy
}

public struct GrowthQuery: QueryRequest {
    public static let kind = QueryKind.growth
    public typealias Result = GrowthResult

    public var entity: EntitySelector
    public var period: String
    public var vs: GrowthBasis

    public init(entity: EntitySelector, period: String, vs: GrowthBasis) {
        self.entity = entity
        self.period = period
        self.vs = vs
    }
}

/// `growth.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
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
    /// *Extension*: when approximate, the least and the most the figure can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?
    public var previousLow: Int64?
    public var previousHigh: Int64?
    /// *Extension*: the growth at its least and most, from the two intervals (absent when exact;
    /// `growthHigh` absent when the previous figure may be 0 or the figure has no upper bound).
    public var growthLow: Double?
    public var growthHigh: Double?
    /// *Extension*: `up`, `down` or `flat` when the intervals tell, `uncertain` when they overlap;
    /// absent without both figures.
    public var direction: String?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

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
