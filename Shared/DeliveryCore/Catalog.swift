import DeliveryMessages

/// The catalog: groups, brands, models, segments and exchange rates, with names matched
/// case-insensitively against ids, names and aliases. `merge` validates a put as a whole.
public struct Catalog: Sendable {
    public private(set) var groups: [String: GroupEntry] = [:]
    public private(set) var brands: [String: BrandEntry] = [:]
    public private(set) var models: [String: ModelEntry] = [:]
    public private(set) var segments: [String: SegmentEntry] = [:]
    public private(set) var fx: [FXRate] = []

    /// Lower-cased id, name or alias → the entities it names, per level.
    private var names: [Level: [String: Set<String>]] = [:]
    /// The children of each entity, sorted by id.
    private var childIDs: [EntityKey: [String]] = [:]

    public init() {}

    public init(_ document: CatalogDocument) throws(ProtocolError) {
        try merge(document)
    }

    // MARK: Merging

    /// Merges a catalog document: entries with a known id replace the old ones, new ones are added.
    /// A brand must name a known group, a model a known brand (and a known segment, if any); an
    /// existing brand or model keeps its parent, since its figures were counted there.
    public mutating func merge(_ document: CatalogDocument) throws(ProtocolError) {
        var next = self
        for (index, group) in document.groups.enumerated() {
            try Self.checkID(group.id, name: group.name, list: "groups", index: index)
            next.groups[group.id] = group
        }
        for (index, segment) in document.segments.enumerated() {
            try Self.checkID(segment.id, name: segment.name, list: "segments", index: index)
            next.segments[segment.id] = segment
        }
        next.reindex()
        for (index, brand) in document.brands.enumerated() {
            try Self.checkID(brand.id, name: brand.name, list: "brands", index: index)
            guard let group = next.resolveID(brand.group, level: .group) else {
                throw Self.invalid("brands[\(index)] '\(brand.id)' names group '\(brand.group)', which is not in the catalog", list: "brands", index: index)
            }
            if let old = brands[brand.id], old.group != group {
                throw Self.invalid("brand '\(brand.id)' belongs to group '\(old.group)'; it cannot move to '\(group)'", list: "brands", index: index)
            }
            var entry = brand
            entry.group = group
            next.brands[brand.id] = entry
        }
        next.reindex()
        for (index, model) in document.models.enumerated() {
            try Self.checkID(model.id, name: model.name, list: "models", index: index)
            guard let brand = next.resolveID(model.brand, level: .brand) else {
                throw Self.invalid("models[\(index)] '\(model.id)' names brand '\(model.brand)', which is not in the catalog", list: "models", index: index)
            }
            if let old = models[model.id], old.brand != brand {
                throw Self.invalid("model '\(model.id)' belongs to brand '\(old.brand)'; it cannot move to '\(brand)'", list: "models", index: index)
            }
            var entry = model
            entry.brand = brand
            if let segment = model.segment, next.segments[segment] == nil {
                throw Self.invalid("models[\(index)] '\(model.id)' names segment '\(segment)', which is not in the catalog", list: "models", index: index)
            }
            next.models[model.id] = entry
        }
        for (index, rate) in document.fx.enumerated() {
            guard rate.rate > 0, rate.rate.isFinite, !rate.base.isEmpty, !rate.quote.isEmpty else {
                throw Self.invalid("fx[\(index)]: a rate names base and quote currencies and is a positive number", list: "fx", index: index)
            }
            next.fx.removeAll { $0.base.uppercased() == rate.base.uppercased() && $0.quote.uppercased() == rate.quote.uppercased() }
            next.fx.append(rate)
        }
        next.reindex()
        self = next
    }

    private static func checkID(_ id: String, name: String, list: String, index: Int) throws(ProtocolError) {
        let allowed = id.utf8.allSatisfy { byte in
            (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45 || byte == 95
        }
        guard !id.isEmpty, id.utf8.count <= 64, allowed else {
            throw invalid("\(list)[\(index)]: id '\(id)' must be 1 to 64 of a-z, 0-9, '-' and '_' (ids name pub/sub topics)", list: list, index: index)
        }
        guard id != "market" else {
            throw invalid("\(list)[\(index)]: 'market' is reserved", list: list, index: index)
        }
        guard !name.isEmpty else {
            throw invalid("\(list)[\(index)] '\(id)' has an empty name", list: list, index: index)
        }
    }

    private static func invalid(_ message: String, list: String, index: Int) -> ProtocolError {
        ProtocolError(.invalidReport, message, details: ["list": .string(list), "index": .int(Int64(index))])
    }

    private mutating func reindex() {
        var names: [Level: [String: Set<String>]] = [:]
        func add(_ level: Level, _ id: String, _ words: [String]) {
            for word in words {
                names[level, default: [:]][word.lowercased(), default: []].insert(id)
            }
        }
        var children: [EntityKey: [String]] = [:]
        for group in groups.values {
            add(.group, group.id, [group.id, group.name] + (group.aliases ?? []))
            children[.market, default: []].append(group.id)
        }
        for brand in brands.values {
            add(.brand, brand.id, [brand.id, brand.name] + (brand.aliases ?? []))
            children[EntityKey(.group, brand.group), default: []].append(brand.id)
        }
        for model in models.values {
            add(.model, model.id, [model.id, model.name] + (model.aliases ?? []))
            children[EntityKey(.brand, model.brand), default: []].append(model.id)
        }
        for key in children.keys { children[key]!.sort() }
        self.names = names
        self.childIDs = children
    }

    private func resolveID(_ name: String, level: Level) -> String? {
        let matches = names[level]?[name.lowercased()] ?? []
        return matches.count == 1 ? matches.first : nil
    }

    // MARK: Looking up

    public var document: CatalogDocument {
        CatalogDocument(
            groups: groups.values.sorted { $0.id < $1.id },
            brands: brands.values.sorted { $0.id < $1.id },
            models: models.values.sorted { $0.id < $1.id },
            segments: segments.values.sorted { $0.id < $1.id },
            fx: fx
        )
    }

    public func contains(_ key: EntityKey) -> Bool {
        switch key.level {
        case .market: true
        case .group: groups[key.id] != nil
        case .brand: brands[key.id] != nil
        case .model: models[key.id] != nil
        }
    }

    public func parent(of key: EntityKey) -> EntityKey? {
        switch key.level {
        case .market: nil
        case .group: .market
        case .brand: brands[key.id].map { EntityKey(.group, $0.group) }
        case .model: models[key.id].map { EntityKey(.brand, $0.brand) }
        }
    }

    /// The entity's children one level down, by id.
    public func children(of key: EntityKey) -> [EntityKey] {
        guard let level = key.level.child else { return [] }
        return (childIDs[key] ?? []).map { EntityKey(level, $0) }
    }

    /// Every entity of a level under an entity (itself, when it is of that level).
    public func descendants(of key: EntityKey, at level: Level) -> [EntityKey] {
        if key.level == level { return [key] }
        guard key.level < level else { return [] }
        return children(of: key).flatMap { descendants(of: $0, at: level) }
    }

    /// The ids from the group down to the entity.
    public func path(of key: EntityKey) -> [String] {
        var path: [String] = []
        var current: EntityKey? = key
        while let entity = current, entity.level != .market {
            path.append(entity.id)
            current = parent(of: entity)
        }
        return path.reversed()
    }

    public func ref(_ key: EntityKey) -> EntityRef {
        let name: String
        switch key.level {
        case .market: return .market
        case .group: name = groups[key.id]?.name ?? key.id
        case .brand: name = brands[key.id]?.name ?? key.id
        case .model: name = models[key.id]?.name ?? key.id
        }
        return EntityRef(level: key.level, id: key.id, name: name, path: path(of: key))
    }

    /// Resolves a request's entity: the deepest level named, its parents used to tell apart
    /// entities of the same name.
    public func resolve(_ selector: EntitySelector) throws(ProtocolError) -> EntityKey {
        if selector.market == true && selector.group == nil && selector.brand == nil && selector.model == nil {
            return .market
        }
        var group: String?
        if let name = selector.group {
            group = try resolveOne(name, level: .group, within: nil)
        }
        var brand: String?
        if let name = selector.brand {
            brand = try resolveOne(name, level: .brand, within: group.map { EntityKey(.group, $0) })
        }
        if let name = selector.model {
            let within = brand.map { EntityKey(.brand, $0) } ?? group.map { EntityKey(.group, $0) }
            return EntityKey(.model, try resolveOne(name, level: .model, within: within))
        }
        if let brand { return EntityKey(.brand, brand) }
        if let group { return EntityKey(.group, group) }
        return .market
    }

    private func resolveOne(_ name: String, level: Level, within: EntityKey?) throws(ProtocolError) -> String {
        let all = names[level]?[name.lowercased()] ?? []
        guard !all.isEmpty else {
            throw ProtocolError(
                .unknownEntity,
                "no \(level.rawValue) named '\(name)' in the catalog",
                details: ["field": .string(level.rawValue), "name": .string(name)]
            )
        }
        var matches = all
        if let within {
            matches = all.filter { id in isUnder(EntityKey(level, id), within) }
            guard !matches.isEmpty else {
                throw ProtocolError(
                    .unknownEntity,
                    "\(level.rawValue) '\(name)' is not under \(within.level.rawValue) '\(within.id)'",
                    details: ["field": .string(level.rawValue), "name": .string(name)]
                )
            }
        }
        guard matches.count == 1, let id = matches.first else {
            throw ProtocolError(
                .unknownEntity,
                "\(level.rawValue) name '\(name)' is ambiguous (\(matches.sorted().joined(separator: ", "))); name its parent too",
                details: ["field": .string(level.rawValue), "name": .string(name)]
            )
        }
        return id
    }

    /// Whether `key` is `ancestor` or lies under it.
    public func isUnder(_ key: EntityKey, _ ancestor: EntityKey) -> Bool {
        var current: EntityKey? = key
        while let entity = current {
            if entity == ancestor { return true }
            current = parent(of: entity)
        }
        return false
    }

    /// A model's catalog entry.
    public func model(_ id: String) -> ModelEntry? { models[id] }

    /// The rate from one currency to another: the catalog's own, or its inverse.
    public func rate(from: String, to: String) -> FXRate? {
        let from = from.uppercased()
        let to = to.uppercased()
        if from == to { return FXRate(quote: to, base: from, rate: 1) }
        if let direct = fx.last(where: { $0.base.uppercased() == from && $0.quote.uppercased() == to }) {
            return direct
        }
        if let inverse = fx.last(where: { $0.base.uppercased() == to && $0.quote.uppercased() == from }) {
            return FXRate(date: inverse.date, quote: to, base: from, rate: 1 / inverse.rate, evidence: inverse.evidence)
        }
        return nil
    }

    public var counts: (groups: Int, brands: Int, models: Int, segments: Int) {
        (groups.count, brands.count, models.count, segments.count)
    }
}
