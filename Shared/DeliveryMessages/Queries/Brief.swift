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
    /// *Extension*: the figure's split by powertrain, when its parts have figures.
    case powertrains

    /// A record (the highest or the lowest month on record).
    public var isRecord: Bool { self == .recordHigh || self == .recordLow }
}

/// One fact: what kind, the sentence, the numbers behind it, and what it rests on.
public struct Fact: Codable, Sendable, Hashable {
    public var kind: FactKind
    public var text: String
    /// The entity the fact is about, when it is not the one asked for (a child, a model).
    public var entity: EntityRef?
    public var data: [String: JSONValue]
    /// *Extension*: what the fact rests on; its words follow it.
    public var basis: FactBasis?

    public init(kind: FactKind, text: String, entity: EntityRef? = nil, data: [String: JSONValue], basis: FactBasis? = nil) {
        self.kind = kind
        self.text = text
        self.entity = entity
        self.data = data
        self.basis = basis
    }
}

extension Fact {
    /// The fact with a basis.
    public func resting(on basis: FactBasis) -> Fact {
        var fact = self
        fact.basis = basis
        return fact
    }
}

/// *Extension*: what a fact rests on (docs/PROTOCOL.md, "Coverage").
public struct FactBasis: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// A reported figure or rank: `sources` name who reported it ("according to CPCA").
        case reported
        /// A sum of parts with every part the catalog expects present.
        case complete
        /// A sum short of expected parts: a lower bound ("at least"); `missing` names them.
        case lowerBound
        /// A comparison among the models the catalog tracks, not the whole market ("among the
        /// tracked models"); `trackedModels` says how many had figures.
        case tracked
    }

    public var kind: Kind
    public var sources: [String]?
    public var missing: [EntityRef]?
    public var missingCount: Int?
    /// *Extension*: for a sum of powertrain parts, the parts it has no figure of.
    public var missingParts: [MissingPart]?
    public var trackedModels: Int?

    public init(kind: Kind, sources: [String]? = nil, missing: [EntityRef]? = nil, missingCount: Int? = nil, trackedModels: Int? = nil) {
        self.kind = kind
        self.sources = sources
        self.missing = missing
        self.missingCount = missingCount
        self.trackedModels = trackedModels
    }
}

public struct BriefResult: QueryResult, Hashable {
    public var entity: EntityRef
    public var period: String
    public var facts: [Fact]
    public var asOf: [String: UInt64] = [:]
    public var measure: Measure?
    public var powertrain: Powertrain?
    public var knownAt: String?

    public init(entity: EntityRef, period: String, facts: [Fact]) {
        self.entity = entity
        self.period = period
        self.facts = facts
    }
}

/// *Extension*: a `fact` event, published by a query replica on `fact.<group>.<brand>.<model>.`
/// when a new figure sets a record, extends or ends a streak, or crosses a milestone.
///
/// *Extension*: each fact has a place in its aggregate's fact history (`history`, `number`: the
/// first fact of a history is 1, each next one 1 more), the time it was stated, and the report
/// whose figure made it true (`cause`), so that a script can resume from a token (the `facts`
/// request).
public struct FactEvent: Codable, Sendable, Hashable {
    public var entity: EntityRef
    public var period: String
    public var fact: Fact
    public var history: String?
    public var number: UInt64?
    public var statedAt: String?
    public var cause: Cause?

    public init(entity: EntityRef, period: String, fact: Fact) {
        self.entity = entity
        self.period = period
        self.fact = fact
    }
}
