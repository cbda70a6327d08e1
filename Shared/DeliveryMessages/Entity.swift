/// An entity as a request names it: the deepest level and, where a name alone is ambiguous, its
/// parents (`{"model": "AITO M9"}`, `{"brand": "AITO", "group": "HIMA"}`, `{"market": true}`).
public struct EntitySelector: Codable, Sendable, Hashable {
    public var market: Bool?
    public var group: String?
    public var brand: String?
    public var model: String?
    /// *Extension*: a price segment's reported market-wide total (docs/PROTOCOL.md, "Coverage");
    /// names no group, brand or model.
    public var segment: String?

    public init(market: Bool? = nil, group: String? = nil, brand: String? = nil, model: String? = nil, segment: String? = nil) {
        self.market = market
        self.group = group
        self.brand = brand
        self.model = model
        self.segment = segment
    }

    public static let wholeMarket = EntitySelector(market: true)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        market = try container.decodeIfPresent(Bool.self, forKey: .market)
        group = try container.decodeIfPresent(String.self, forKey: .group)
        brand = try container.decodeIfPresent(String.self, forKey: .brand)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        segment = try container.decodeIfPresent(String.self, forKey: .segment)
        if market != true && group == nil && brand == nil && model == nil && segment == nil {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "an entity names a group, brand or model, or a segment, or is {\"market\": true}"
                )
            )
        }
        if segment != nil && (market != nil || group != nil || brand != nil || model != nil) {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a segment's total names no market, group, brand or model")
            )
        }
    }

    /// The deepest level the selector names.
    public var level: Level {
        if segment != nil { return .segment }
        if model != nil { return .model }
        if brand != nil { return .brand }
        if group != nil { return .group }
        return .market
    }

    public var description: String {
        if let segment { return "segment \(segment)" }
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

    /// The pub/sub topic of this entity for a kind of event: `figure.hima.aito.` (the market:
    /// `figure.`).
    public func topic(_ kind: TopicKind, measure: Measure = .default, powertrain: Powertrain? = nil) -> String {
        // Another measure's figures go out under their own topics (`figure:retail.hima.`), and a
        // powertrain's part under its own (`figure:BEV.hima.`, `figure:retail:BEV.hima.`), so
        // that a subscriber to `figure.` gets the whole deliveries figures as before and nothing else.
        var topic = kind.rawValue
        if measure != .default { topic += ":" + measure.rawValue }
        if let powertrain { topic += ":" + powertrain.rawValue }
        topic += "."
        for id in path { topic += id + "." }
        return topic
    }
}
