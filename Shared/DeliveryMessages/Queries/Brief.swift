/// `brief`: the facts a story would state about an entity in a month, each as data and as one
/// plain English sentence. Facts the figures cannot support are left out.
public struct BriefQuery: QueryRequest {
    public static let kind = QueryKind.brief
    public typealias Result = BriefResult

    public var entity: EntitySelector
    /// A month (YYYY-MM).
    public var period: String

    public init(entity: EntitySelector, period: String) {
        self.entity = entity
        self.period = period
    }
}

/// What a fact says, as its `kind` names it on the wire.
public enum FactKind: String, Codable, Sendable, CaseIterable {
    case units
    case growthMoM = "growth.mom"
    case growthYoY = "growth.yoy"
    case share, children, models, unattributed, ytd
    case recordHigh = "record.high"
    case recordLow = "record.low"
    case highestSince, lowestSince, leader
    case streakThreshold = "streak.threshold"
    case streakGrowth = "streak.growth"
    case streakEnded = "streak.ended"
    case cumulative, milestone

    /// A record (the highest or the lowest month on record).
    public var isRecord: Bool { self == .recordHigh || self == .recordLow }
}

/// One fact: what kind, the sentence, and the numbers behind it.
public struct Fact: Codable, Sendable, Hashable {
    public var kind: FactKind
    public var text: String
    /// The entity the fact is about, when it is not the one asked for (a child, a model).
    public var entity: EntityRef?
    public var data: [String: JSONValue]

    public init(kind: FactKind, text: String, entity: EntityRef? = nil, data: [String: JSONValue]) {
        self.kind = kind
        self.text = text
        self.entity = entity
        self.data = data
    }
}

public struct BriefResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var facts: [Fact]
    public var asOf: [String: UInt64] = [:]

    public init(entity: EntityRef, period: String, facts: [Fact]) {
        self.entity = entity
        self.period = period
        self.facts = facts
    }
}

/// *Extension*: a `fact` event, published by a query replica on `fact.<group>.<brand>.<model>.`
/// when a new figure sets a record, extends or ends a streak, or crosses a milestone.
public struct FactEvent: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var period: String
    public var fact: Fact

    public init(entity: EntityRef, period: String, fact: Fact) {
        self.entity = entity
        self.period = period
        self.fact = fact
    }
}
