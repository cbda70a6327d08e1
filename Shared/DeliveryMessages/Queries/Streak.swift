public struct StreakQuery: QueryRequest {
    public static let kind = QueryKind.streak
    public typealias Result = StreakResult

    public var segment: String
    public var period: String
    public var entity: EntitySelector?

    public init(segment: String, period: String, entity: EntitySelector? = nil) {
        self.segment = segment
        self.period = period
        self.entity = entity
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
