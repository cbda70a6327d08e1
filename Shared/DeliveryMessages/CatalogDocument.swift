/// A catalog document as `catalog.put` takes it and `catalog` returns it: the shape of the
/// `catalog` object of the sample data. Every list is optional in a put; what it names is merged.
public struct CatalogDocument: Codable, Sendable, Hashable {
    public var groups: [GroupEntry]
    public var brands: [BrandEntry]
    public var models: [ModelEntry]
    public var segments: [SegmentEntry]
    public var fx: [FXRate]

    public init(
        groups: [GroupEntry] = [], brands: [BrandEntry] = [], models: [ModelEntry] = [],
        segments: [SegmentEntry] = [], fx: [FXRate] = []
    ) {
        self.groups = groups
        self.brands = brands
        self.models = models
        self.segments = segments
        self.fx = fx
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        groups = try container.decodeIfPresent([GroupEntry].self, forKey: .groups) ?? []
        brands = try container.decodeIfPresent([BrandEntry].self, forKey: .brands) ?? []
        models = try container.decodeIfPresent([ModelEntry].self, forKey: .models) ?? []
        segments = try container.decodeIfPresent([SegmentEntry].self, forKey: .segments) ?? []
        // `fx` is one rate in the sample; a list of rates is taken too.
        if let one = try? container.decodeIfPresent(FXRate.self, forKey: .fx) {
            fx = [one]
        } else {
            fx = try container.decodeIfPresent([FXRate].self, forKey: .fx) ?? []
        }
    }

    public var isEmpty: Bool {
        groups.isEmpty && brands.isEmpty && models.isEmpty && segments.isEmpty && fx.isEmpty
    }
}

public struct GroupEntry: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var aliases: [String]?
    public var kind: String?
    public var note: String?

    public init(id: String, name: String, aliases: [String]? = nil, kind: String? = nil, note: String? = nil) {
        self.id = id
        self.name = name
        self.aliases = aliases
        self.kind = kind
        self.note = note
    }
}

public struct BrandEntry: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var group: String
    public var maker: String?
    public var aliases: [String]?
    public var note: String?

    public init(id: String, name: String, group: String, maker: String? = nil, aliases: [String]? = nil, note: String? = nil) {
        self.id = id
        self.name = name
        self.group = group
        self.maker = maker
        self.aliases = aliases
        self.note = note
    }
}

public struct ModelEntry: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var brand: String
    public var segment: String?
    public var powertrains: [String]?
    public var aliases: [String]?
    /// The first month (or quarter, or year) with deliveries: before it, the model is not missing
    /// from its brand's sum.
    public var deliveriesBegan: String?
    /// *Extension*: the last month (quarter, year) with deliveries: after it, the model is not
    /// missing from its brand's sum.
    public var deliveriesEnded: String?
    public var launched: String?
    public var note: String?

    public init(
        id: String, name: String, brand: String, segment: String? = nil, powertrains: [String]? = nil,
        aliases: [String]? = nil, deliveriesBegan: String? = nil, deliveriesEnded: String? = nil, launched: String? = nil,
        note: String? = nil
    ) {
        self.id = id
        self.name = name
        self.brand = brand
        self.segment = segment
        self.powertrains = powertrains
        self.aliases = aliases
        self.deliveriesBegan = deliveriesBegan
        self.deliveriesEnded = deliveriesEnded
        self.launched = launched
        self.note = note
    }
}

public struct SegmentEntry: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var minCNY: Double?
    public var maxCNY: Double?

    public init(id: String, name: String, minCNY: Double? = nil, maxCNY: Double? = nil) {
        self.id = id
        self.name = name
        self.minCNY = minCNY
        self.maxCNY = maxCNY
    }
}

/// An exchange rate: one unit of `base` is `rate` units of `quote`.
public struct FXRate: Codable, Sendable, Hashable {
    public var date: String?
    public var quote: String
    public var base: String
    public var rate: Double
    public var evidence: String?

    public init(date: String? = nil, quote: String, base: String, rate: Double, evidence: String? = nil) {
        self.date = date
        self.quote = quote
        self.base = base
        self.rate = rate
        self.evidence = evidence
    }
}
