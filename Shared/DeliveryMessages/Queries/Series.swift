public enum Granularity: String, Codable, Sendable, CaseIterable {
    case month, quarter, year
}

public struct SeriesQuery: QueryRequest {
    public static let kind = QueryKind.series
    public typealias Result = SeriesResult

    public var entity: EntitySelector
    public var from: String
    public var to: String
    public var granularity: Granularity?

    public init(entity: EntitySelector, from: String, to: String, granularity: Granularity? = nil) {
        self.entity = entity
        self.from = from
        self.to = to
        self.granularity = granularity
    }
}

public struct SeriesPoint: Codable, Sendable, Hashable {
    public var period: String
    public var units: Int64
    public var basis: Basis
    public var qualifier: Qualifier
    /// *Extension*: when approximate, the least and the most it can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?
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
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(entity: EntityRef, from: String, to: String, granularity: Granularity, points: [SeriesPoint]) {
        self.entity = entity
        self.from = from
        self.to = to
        self.granularity = granularity
        self.points = points
    }
}
