/// `cumulative`: every unit of an entity from its first month on record up to a month, and when
/// the total crossed a milestone.
public struct CumulativeQuery: QueryRequest {
    public static let kind = QueryKind.cumulative
    public typealias Result = CumulativeResult

    public var entity: EntitySelector
    /// A month (YYYY-MM).
    public var period: String
    /// A total to find the month of crossing for (such as 1000000).
    public var milestone: Int64?

    public init(entity: EntitySelector, period: String, milestone: Int64? = nil) {
        self.entity = entity
        self.period = period
        self.milestone = milestone
    }
}

/// `cumulative.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct CumulativeResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    /// The first month on record (null when there is none up to the period).
    public var from: String?
    public var units: Int64
    public var qualifier: Qualifier
    /// *Extension*: when approximate, the least and the most it can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?
    /// Months with a figure from `from` to the period, and those without (the first 24 listed).
    public var months: Int
    public var missingMonths: Int
    public var missing: [String]
    /// Whether every month from `from` to the period has a figure.
    public var complete: Bool
    public var milestone: Int64?
    /// The month in which the running total first reached the milestone; null when it has not.
    public var crossedIn: String?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(
        entity: EntityRef, period: String, from: String?, units: Int64, qualifier: Qualifier, months: Int, missingMonths: Int,
        missing: [String], milestone: Int64?, crossedIn: String?
    ) {
        self.entity = entity
        self.period = period
        self.from = from
        self.units = units
        self.qualifier = qualifier
        self.months = months
        self.missingMonths = missingMonths
        self.missing = missing
        complete = missingMonths == 0
        self.milestone = milestone
        self.crossedIn = crossedIn
    }
}
