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

/// One fact: what kind, the sentence, and the numbers behind it.
public struct Fact: Codable, Sendable, Hashable {
    /// `units`, `growth.mom`, `growth.yoy`, `share`, `children`, `models`, `unattributed`, `ytd`,
    /// `record.high`, `record.low`, `highestSince`, `lowestSince`, `leader`, `streak.threshold`,
    /// `streak.growth`, `cumulative`, `milestone`.
    public var kind: String
    public var text: String
    /// The entity the fact is about, when it is not the one asked for (a child, a model).
    public var entity: EntityRef?
    public var data: [String: JSONValue]

    public init(kind: String, text: String, entity: EntityRef? = nil, data: [String: JSONValue]) {
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
