/// An entity as a request names it: the deepest level and, where a name alone is ambiguous, its
/// parents (`{"model": "AITO M9"}`, `{"brand": "AITO", "group": "HIMA"}`, `{"market": true}`).
public struct EntitySelector: Codable, Sendable, Hashable {
    public var market: Bool?
    public var group: String?
    public var brand: String?
    public var model: String?

    public init(market: Bool? = nil, group: String? = nil, brand: String? = nil, model: String? = nil) {
        self.market = market
        self.group = group
        self.brand = brand
        self.model = model
    }

    public static let wholeMarket = EntitySelector(market: true)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        market = try container.decodeIfPresent(Bool.self, forKey: .market)
        group = try container.decodeIfPresent(String.self, forKey: .group)
        brand = try container.decodeIfPresent(String.self, forKey: .brand)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        if market != true && group == nil && brand == nil && model == nil {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "an entity names a group, brand or model, or is {\"market\": true}"
                )
            )
        }
    }

    /// The deepest level the selector names.
    public var level: Level {
        if model != nil { return .model }
        if brand != nil { return .brand }
        if group != nil { return .group }
        return .market
    }

    public var description: String {
        if let model { return model }
        if let brand { return brand }
        if let group { return group }
        return "the market"
    }
}

/// An entity as a reply names it: catalog id, display name and the ids from the group down.
public struct EntityRef: Codable, Sendable, Hashable {
    public var level: Level
    public var id: String
    public var name: String
    public var path: [String]

    public init(level: Level, id: String, name: String, path: [String]) {
        self.level = level
        self.id = id
        self.name = name
        self.path = path
    }

    public static let market = EntityRef(level: .market, id: "market", name: "Market", path: [])

    /// The pub/sub topic of this entity for a kind: `figure.hima.aito.` (the market: `figure.`).
    public func topic(_ kind: String) -> String {
        var topic = kind + "."
        for id in path { topic += id + "." }
        return topic
    }
}
