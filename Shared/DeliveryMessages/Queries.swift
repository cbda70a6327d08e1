/// What any query's body may carry besides its own fields: read-your-writes.
public struct QueryControl: Codable, Sendable {
    /// Answer only once these upstream positions are applied (for instance from an ingest ack).
    public var after: [String: UInt64]?
    /// How long to wait for `after` before replying `stale` (default 2000).
    public var timeoutMs: Int?

    public init(after: [String: UInt64]? = nil, timeoutMs: Int? = nil) {
        self.after = after
        self.timeoutMs = timeoutMs
    }
}

public struct UnitsQuery: Codable, Sendable {
    public var entity: EntitySelector
    public var period: String
    public var source: String?

    public init(entity: EntitySelector, period: String, source: String? = nil) {
        self.entity = entity
        self.period = period
        self.source = source
    }
}

public struct ShareQuery: Codable, Sendable {
    public var entity: EntitySelector
    public var period: String
    public var of: EntitySelector?

    public init(entity: EntitySelector, period: String, of: EntitySelector? = nil) {
        self.entity = entity
        self.period = period
        self.of = of
    }
}

public enum GrowthBasis: String, Codable, Sendable, CaseIterable {
    case mom, qoq, yoy
}

public struct GrowthQuery: Codable, Sendable {
    public var entity: EntitySelector
    public var period: String
    public var vs: GrowthBasis

    public init(entity: EntitySelector, period: String, vs: GrowthBasis) {
        self.entity = entity
        self.period = period
        self.vs = vs
    }
}

public struct YTDQuery: Codable, Sendable {
    public var entity: EntitySelector
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

public struct RankingQuery: Codable, Sendable {
    public var period: String
    public var level: Level
    public var within: EntitySelector?
    public var segment: String?
    public var powertrain: String?
    public var top: Int?

    public init(
        period: String, level: Level, within: EntitySelector? = nil, segment: String? = nil,
        powertrain: String? = nil, top: Int? = nil
    ) {
        self.period = period
        self.level = level
        self.within = within
        self.segment = segment
        self.powertrain = powertrain
        self.top = top
    }
}

public struct StreakQuery: Codable, Sendable {
    public var segment: String
    public var period: String
    public var entity: EntitySelector?

    public init(segment: String, period: String, entity: EntitySelector? = nil) {
        self.segment = segment
        self.period = period
        self.entity = entity
    }
}

public enum Granularity: String, Codable, Sendable, CaseIterable {
    case month, quarter, year
}

public struct SeriesQuery: Codable, Sendable {
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

public struct ReconcileQuery: Codable, Sendable {
    public var entity: EntitySelector
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

public struct ConvertQuery: Codable, Sendable {
    public var amount: Double
    public var from: String
    public var to: String

    public init(amount: Double, from: String, to: String) {
        self.amount = amount
        self.from = from
        self.to = to
    }
}
