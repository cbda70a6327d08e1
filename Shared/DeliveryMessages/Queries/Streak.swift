/// What a streak counts: without a condition, months in a row as a segment's leader; with one,
/// months in a row that an entity's own figure meets it.
public struct StreakCondition: Codable, Sendable, Hashable {
    /// Met by a month whose figure is certainly at least this (an `atLeast` figure by its floor).
    public var atLeast: Int64?
    /// Met by a month whose figure is certainly at most this.
    public var atMost: Int64?
    /// Met by a month certainly above (`direction` up) or below (down) the month before (`mom`) or
    /// the same month a year before (`yoy`).
    public var growth: GrowthBasis?
    public var direction: Direction?

    public enum Direction: String, Codable, Sendable, Hashable, CaseIterable {
        case up, down
    }

    public init(atLeast: Int64? = nil, atMost: Int64? = nil, growth: GrowthBasis? = nil, direction: Direction? = nil) {
        self.atLeast = atLeast
        self.atMost = atMost
        self.growth = growth
        self.direction = direction
    }
}

/// Why a run of months stops where it does.
public enum RunEnd: String, Codable, Sendable, Hashable, CaseIterable {
    /// The month before the run does not meet the condition: the run is whole.
    case condition
    /// The month before has no figure (or, for growth, nothing to compare with): the run may be
    /// longer than the figures show.
    case missing
    /// The month before has a figure that may or may not meet it (an approximate figure, or a
    /// bound on the wrong side).
    case uncertain
    /// *Extension*: leadership only. In the month before (or, when `months` is 0, the period
    /// itself), the lead is known only among the tracked models: no source states the segment's
    /// ranks and no reported segment total shows the tracked models are all of it.
    case tracked
}

/// *Extension*: what a segment's lead in a month rests on.
public enum LeadBasis: String, Codable, Sendable, Hashable, CaseIterable {
    /// A report states the model's rank 1 in its segment (`segmentRank`); `source` names it.
    case reported
    /// A report states the segment's market-wide total for the month (a report naming the
    /// `segment`), and the tracked models' figures add up to all of it: the tracked models are the
    /// whole segment; `source` names the total's source.
    case complete
    /// The top of the tracked models only: a segment is market-wide, and the catalog knows some
    /// of its models. Not stated as the segment's lead.
    case tracked
}

public struct StreakQuery: QueryRequest {
    public static let kind = QueryKind.streak
    public typealias Result = StreakResult

    /// The price segment whose leadership is counted (without `condition`).
    public var segment: String?
    public var period: String
    /// Leadership: the model whose run is counted (default: the leader). With `condition`: the
    /// entity whose months are counted (required).
    public var entity: EntitySelector?
    public var condition: StreakCondition?

    public init(segment: String? = nil, period: String, entity: EntitySelector? = nil, condition: StreakCondition? = nil) {
        self.segment = segment
        self.period = period
        self.entity = entity
        self.condition = condition
    }
}

/// `streak.result`. Stored properties: one per field of the reply (docs/PROTOCOL.md).
public struct StreakResult: QueryResult, Hashable {
    /// Leadership: the segment.
    public var segment: String?
    public var period: String
    /// Leadership: the segment's top model in the period (null when no model of it has a figure).
    public var leader: EntityRef?
    /// Leadership: the leader's units; with a condition: the entity's units in the period (0 when
    /// it has no figure).
    public var units: Int64
    /// Consecutive months up to the period that the leader (or `entity`) has led, or that meet
    /// the condition.
    public var months: Int
    public var entity: EntityRef?
    public var leads: Bool?
    public var condition: StreakCondition?
    /// The first month of the run (null when `months` is 0).
    public var since: String?
    /// Why the run stops before `since` (or, when `months` is 0, why the period itself does not count).
    public var endedBy: RunEnd
    /// Whether the run's start is known: `endedBy` is `condition`.
    public var complete: Bool
    /// *Extension*: true when an approximate figure was judged for the run (absent otherwise).
    public var approximate: Bool?
    /// *Extension*, leadership: what the period's `leader` rests on; `source` the report's source
    /// when `reported`.
    public var basis: LeadBasis?
    public var source: String?
    /// *Extension*, leadership: `tracked` (the catalog knows only some of a segment's models),
    /// how many models of the segment the catalog expects in the period, and how many have figures.
    public var coverage: String?
    public var trackedModels: Int?
    public var withFigures: Int?
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(
        segment: String?, period: String, leader: EntityRef?, units: Int64, months: Int, entity: EntityRef?,
        leads: Bool?, condition: StreakCondition? = nil, since: String?, endedBy: RunEnd
    ) {
        self.segment = segment
        self.period = period
        self.leader = leader
        self.units = units
        self.months = months
        self.entity = entity
        self.leads = leads
        self.condition = condition
        self.since = since
        self.endedBy = endedBy
        complete = endedBy == .condition
    }
}
