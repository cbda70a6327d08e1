public struct RankingQuery: QueryRequest {
    public static let kind = QueryKind.ranking
    public typealias Result = RankingResult

    public var period: String
    public var level: Level
    public var within: EntitySelector?
    public var segment: String?
    public var powertrain: String?
    public var top: Int?
    /// *Extension*: rank by the figures of `powertrain` (any level) instead of filtering models by
    /// the catalog's powertrains and ranking their whole figures.
    public var byPowertrain: Bool?

    public init(
        period: String, level: Level, within: EntitySelector? = nil, segment: String? = nil,
        powertrain: String? = nil, top: Int? = nil, byPowertrain: Bool? = nil
    ) {
        self.byPowertrain = byPowertrain
        self.period = period
        self.level = level
        self.within = within
        self.segment = segment
        self.powertrain = powertrain
        self.top = top
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
    /// *Extension*: when approximate, the least and the most it can be (docs/PROTOCOL.md,
    /// "Approximate figures"); `high` absent: no upper bound.
    public var low: Int64?
    public var high: Int64?
    /// *Extension*: the model's rank within its segment as a report states it, and its source.
    public var segmentRank: Int?
    public var rankSource: String?

    public init(rank: Int, entity: EntityRef, units: Int64, share: Double?, basis: Basis, qualifier: Qualifier) {
        self.rank = rank
        self.entity = entity
        self.units = units
        self.share = share
        self.basis = basis
        self.qualifier = qualifier
    }
}

/// `ranking.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct RankingResult: QueryResult, Hashable {
    public var period: String
    public var level: Level
    public var within: EntityRef
    public var rows: [RankingRow]
    /// The sum of the rows' units.
    public var total: Int64
    /// How many entities had a figure before `top` cut the list.
    public var candidates: Int
    /// *Extension*, with `segment`: `tracked` (a segment is market-wide; the rows are the models the
    /// catalog tracks), how many of the segment's models the catalog expects in the period, and
    /// which model a report states is first in the segment (with its source), if any.
    public var coverage: String?
    public var trackedModels: Int?
    public var segmentLeader: EntityRef?
    public var leaderSource: String?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(period: String, level: Level, within: EntityRef, rows: [RankingRow], total: Int64, candidates: Int) {
        self.period = period
        self.level = level
        self.within = within
        self.rows = rows
        self.total = total
        self.candidates = candidates
    }
}
