/// `record`: how a month's figure stands against every earlier month of the same entity.
public struct RecordQuery: QueryRequest {
    public static let kind = QueryKind.record
    public typealias Result = RecordResult

    public var entity: EntitySelector
    /// A month (YYYY-MM).
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

/// One month's figure.
public struct MonthFigure: Codable, Sendable, Hashable {
    public var period: String
    public var units: Int64
    public var qualifier: Qualifier
    /// *Extension*: when approximate, the least and the most it can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?

    public init(period: String, units: Int64, qualifier: Qualifier) {
        self.period = period
        self.units = units
        self.qualifier = qualifier
    }
}

/// `record.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct RecordResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    /// The month's figure; null when it has none (then nothing else is stated).
    public var figure: MonthFigure?
    /// Earlier months with a figure, and the first of them.
    public var monthsBefore: Int
    public var firstMonth: String?
    /// Higher (lower) than every earlier month; false without earlier months.
    public var isHighest: Bool
    public var isLowest: Bool
    /// The highest (lowest) earlier month: the record before this one.
    public var previousHigh: MonthFigure?
    public var previousLow: MonthFigure?
    /// The latest earlier month that was higher (lower): "the highest since …". Null when none was.
    public var highestSince: MonthFigure?
    public var lowestSince: MonthFigure?
    /// *Extension*: true when an approximate figure was compared (absent otherwise).
    public var approximate: Bool?
    /// *Extension*: `isHighest` / `isLowest` when false only because intervals overlap: the
    /// month may be the record, and may not (absent when everything could be told).
    public var uncertain: [String]?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(
        entity: EntityRef, period: String, figure: MonthFigure?, monthsBefore: Int, firstMonth: String?, isHighest: Bool, isLowest: Bool,
        previousHigh: MonthFigure?, previousLow: MonthFigure?, highestSince: MonthFigure?, lowestSince: MonthFigure?
    ) {
        self.entity = entity
        self.period = period
        self.figure = figure
        self.monthsBefore = monthsBefore
        self.firstMonth = firstMonth
        self.isHighest = isHighest
        self.isLowest = isLowest
        self.previousHigh = previousHigh
        self.previousLow = previousLow
        self.highestSince = highestSince
        self.lowestSince = lowestSince
    }
}
