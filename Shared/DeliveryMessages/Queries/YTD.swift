public struct YTDQuery: QueryRequest {
    public static let kind = QueryKind.ytd
    public typealias Result = YTDResult

    public var entity: EntitySelector
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

/// `ytd.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct YTDResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var from: String
    public var units: Int64
    public var qualifier: Qualifier
    /// *Extension*: when approximate, the least and the most it can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?
    /// Whether every month from January on has a figure.
    public var complete: Bool
    /// The whole previous year (null when it has no figure).
    public var previousYear: YearFigure?
    /// Whether the year to date already exceeds the whole previous year; null when the figures
    /// cannot tell (the previous year incomplete, or qualifiers on the wrong side).
    public var exceedsPreviousYear: Bool?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(entity: EntityRef, period: String, from: String, units: Int64, qualifier: Qualifier, complete: Bool) {
        self.entity = entity
        self.period = period
        self.from = from
        self.units = units
        self.qualifier = qualifier
        self.complete = complete
    }
}

/// A year's figure: its units, qualifier and whether every month has one.
public struct YearFigure: Codable, Sendable, Hashable {
    public var year: String
    public var units: Int64
    public var qualifier: Qualifier
    public var complete: Bool

    public init(year: String, units: Int64, qualifier: Qualifier, complete: Bool) {
        self.year = year
        self.units = units
        self.qualifier = qualifier
        self.complete = complete
    }
}
