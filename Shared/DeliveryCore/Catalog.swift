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
    /// Parents whose children were added during a merge and are not sorted yet.
    private var unsorted: Set<EntityKey> = []
    /// Each dated model's first and last month of deliveries, parsed once at the merge.
    private var deliveryMonths: [String: (first: Period?, last: Period?)] = [:]

    public init() {}

    public init(_ document: CatalogDocument) throws(ProtocolError) {
        try merge(document)
    }

    // MARK: Merging

    /// Merges a catalog document: entries with a known id replace the old ones, new ones are added.
    /// A brand must name a known group, a model a known brand (and a known segment, if any); an
    /// existing brand or model keeps its parent, since its figures were counted there.
    ///
    /// With `refusingCollisions` (a new put at ingest), a put is refused when one of its names
    /// (id, name or alias) would also name another entity of the same level, so that a name that
    /// resolved before keeps resolving: two models may share a name only under different brands
    /// (a report or query tells them apart by brand). Documents already in a log are merged
    /// without that check, so that an old log still loads.
    ///
    /// The name index is updated entry by entry, so a put of one model costs the same in a
    /// catalog of ten models or of a hundred thousand.
    public mutating func merge(_ document: CatalogDocument, refusingCollisions: Bool = false) throws(ProtocolError) {
        var next = self
        for (index, group) in document.groups.enumerated() {
            try Self.checkID(group.id, name: group.name, list: "groups", index: index)
            next.index(.group, group.id, Self.words(group.id, group.name, group.aliases), parent: .market, old: groups[group.id].map {
                Self.words($0.id, $0.name, $0.aliases)
            })
            next.groups[group.id] = group
        }
        for (index, segment) in document.segments.enumerated() {
            try Self.checkID(segment.id, name: segment.name, list: "segments", index: index)
            next.segments[segment.id] = segment
        }
        for (index, brand) in document.brands.enumerated() {
            try Self.checkID(brand.id, name: brand.name, list: "brands", index: index)
            guard let group = next.resolveID(brand.group, level: .group) else {
                throw Self.invalid("brands[\(index)] '\(brand.id)' names group '\(brand.group)', which is not in the catalog", list: "brands", index: index)
            }
            let old = next.brands[brand.id]
            if let old, old.group != group {
                throw Self.invalid("brand '\(brand.id)' belongs to group '\(old.group)'; it cannot move to '\(group)'", list: "brands", index: index)
            }
            var entry = brand
            entry.group = group
            next.index(.brand, brand.id, Self.words(brand.id, brand.name, brand.aliases), parent: EntityKey(.group, group), old: old.map {
                Self.words($0.id, $0.name, $0.aliases)
            })
            next.brands[brand.id] = entry
        }
        for (index, model) in document.models.enumerated() {
            try Self.checkID(model.id, name: model.name, list: "models", index: index)
            guard let brand = next.resolveID(model.brand, level: .brand) else {
                throw Self.invalid("models[\(index)] '\(model.id)' names brand '\(model.brand)', which is not in the catalog", list: "models", index: index)
            }
            let old = next.models[model.id]
            if let old, old.brand != brand {
                throw Self.invalid("model '\(model.id)' belongs to brand '\(old.brand)'; it cannot move to '\(brand)'", list: "models", index: index)
            }
            var entry = model
            entry.brand = brand
            next.deliveryMonths[model.id] = try Self.checkDeliveryDates(model, index: index)
            if let segment = model.segment, next.segments[segment] == nil {
                throw Self.invalid("models[\(index)] '\(model.id)' names segment '\(segment)', which is not in the catalog", list: "models", index: index)
            }
            next.index(.model, model.id, Self.words(model.id, model.name, model.aliases), parent: EntityKey(.brand, brand), old: old.map {
                Self.words($0.id, $0.name, $0.aliases)
            })
            next.models[model.id] = entry
        }
        for (index, rate) in document.fx.enumerated() {
            guard rate.rate > 0, rate.rate.isFinite, !rate.base.isEmpty, !rate.quote.isEmpty else {
                throw Self.invalid("fx[\(index)]: a rate names base and quote currencies and is a positive number", list: "fx", index: index)
            }
            next.fx.removeAll { $0.base.uppercased() == rate.base.uppercased() && $0.quote.uppercased() == rate.quote.uppercased() }
            next.fx.append(rate)
        }
        next.sortChildren()
        if refusingCollisions { try next.refuseCollisions(document) }
        self = next
    }

    /// The brands and models a document would move to another parent (which `merge` refuses),
    /// each with the parent it has and the one the document gives; the document's own groups and
    /// brands count when it names them.
    public func moves(in document: CatalogDocument) -> [(entity: EntityKey, from: String, to: String)] {
        var result: [(entity: EntityKey, from: String, to: String)] = []
        var scratch = self
        for group in document.groups where scratch.groups[group.id] == nil {
            scratch.index(.group, group.id, Self.words(group.id, group.name, group.aliases), parent: .market, old: nil)
            scratch.groups[group.id] = group
        }
        for brand in document.brands {
            guard let old = brands[brand.id], let group = scratch.resolveID(brand.group, level: .group), group != old.group else { continue }
            result.append((EntityKey(.brand, brand.id), old.group, group))
        }
        for brand in document.brands where scratch.brands[brand.id] == nil {
            if let group = scratch.resolveID(brand.group, level: .group) {
                scratch.index(.brand, brand.id, Self.words(brand.id, brand.name, brand.aliases), parent: EntityKey(.group, group), old: nil)
                var entry = brand
                entry.group = group
                scratch.brands[brand.id] = entry
            }
        }
        for model in document.models {
            guard let old = models[model.id], let brand = scratch.resolveID(model.brand, level: .brand), brand != old.brand else { continue }
            result.append((EntityKey(.model, model.id), old.brand, brand))
        }
        return result
    }

    /// The document without the given brands and models (the entries that lose a conflict).
    public static func without(_ entities: Set<EntityKey>, in document: CatalogDocument) -> CatalogDocument {
        var document = document
        document.brands.removeAll { entities.contains(EntityKey(.brand, $0.id)) }
        document.models.removeAll { entities.contains(EntityKey(.model, $0.id)) }
        return document
    }

    /// Whether every entry of a document is already in the catalog as it stands (a put that would
    /// change nothing).
    public func holds(_ document: CatalogDocument) -> Bool {
        document.groups.allSatisfy { groups[$0.id] == $0 }
            && document.segments.allSatisfy { segments[$0.id] == $0 }
            && document.brands.allSatisfy { brand in
                var entry = brand
                entry.group = resolveID(brand.group, level: .group) ?? brand.group
                return brands[brand.id] == entry
            }
            && document.models.allSatisfy { model in
                var entry = model
                entry.brand = resolveID(model.brand, level: .brand) ?? model.brand
                return models[model.id] == entry
            }
            && document.fx.allSatisfy { fx.contains($0) }
    }

    /// Throws when a name of the document's entries names another entity of the same level (for
    /// models: another model of the same brand).
    private func refuseCollisions(_ document: CatalogDocument) throws(ProtocolError) {
        func check(_ level: Level, _ id: String, _ words: [String], list: String, index: Int) throws(ProtocolError) {
            for word in words {
                let others = (names[level]?[word.lowercased()] ?? []).subtracting([id])
                let clashing = level == .model ? others.filter { models[$0]?.brand == models[id]?.brand } : others
                guard let other = clashing.sorted().first else { continue }
                throw ProtocolError(
                    .invalidReport,
                    "\(list)[\(index)] '\(id)': the name '\(word)' already names \(level.rawValue) '\(other)'"
                        + (level == .model ? " of the same brand" : "") + "; one name, one \(level.rawValue)",
                    details: ["list": .string(list), "index": .int(Int64(index)), "name": .string(word), "collidesWith": .string(other)]
                )
            }
        }
        for (index, group) in document.groups.enumerated() {
            try check(.group, group.id, Self.words(group.id, group.name, group.aliases), list: "groups", index: index)
        }
        for (index, brand) in document.brands.enumerated() {
            try check(.brand, brand.id, Self.words(brand.id, brand.name, brand.aliases), list: "brands", index: index)
        }
        for (index, model) in document.models.enumerated() {
            try check(.model, model.id, Self.words(model.id, model.name, model.aliases), list: "models", index: index)
        }
    }

    private mutating func sortChildren() {
        for parent in unsorted { childIDs[parent]?.sort() }
        unsorted = []
    }

    private static func words(_ id: String, _ name: String, _ aliases: [String]?) -> [String] {
        [id, name] + (aliases ?? [])
    }

    /// Indexes one entry's names and its place under its parent; `old` is the names of the entry
    /// it replaces.
    private mutating func index(_ level: Level, _ id: String, _ words: [String], parent: EntityKey, old: [String]?) {
        if let old {
            for word in old {
                let key = word.lowercased()
                names[level]?[key]?.remove(id)
                if names[level]?[key]?.isEmpty == true { names[level]?[key] = nil }
            }
        } else {
            // Appended here and sorted once at the end of the merge (`sortChildren`).
            childIDs[parent, default: []].append(id)
            unsorted.insert(parent)
        }
        for word in words {
            names[level, default: [:]][word.lowercased(), default: []].insert(id)
        }
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

    /// A model's `deliveriesBegan` and `deliveriesEnded` are periods (YYYY-MM, YYYY-Qn or YYYY),
    /// the end not before the beginning; returns their first and last months.
    private static func checkDeliveryDates(_ model: ModelEntry, index: Int) throws(ProtocolError) -> (first: Period?, last: Period?)? {
        func period(_ text: String?, _ field: String) throws(ProtocolError) -> Period? {
            guard let text else { return nil }
            do {
                return try Period(parsing: text)
            } catch {
                throw invalid("models[\(index)] '\(model.id)': \(field) must be a month, quarter or year (2024-01, 2024-Q1, 2024), not '\(text)'", list: "models", index: index)
            }
        }
        let began = try period(model.deliveriesBegan, "deliveriesBegan")
        let ended = try period(model.deliveriesEnded, "deliveriesEnded")
        if let began, let ended, let first = began.months.first, let last = ended.months.last, last < first {
            throw invalid("models[\(index)] '\(model.id)': deliveriesEnded \(ended) is before deliveriesBegan \(began)", list: "models", index: index)
        }
        guard began != nil || ended != nil else { return nil }
        return (began?.months.first, ended?.months.last)
    }

    private static func invalid(_ message: String, list: String, index: Int) -> ProtocolError {
        ProtocolError(.invalidReport, message, details: ["list": .string(list), "index": .int(Int64(index))])
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
        case .segment: segments[key.id] != nil
        }
    }

    public func parent(of key: EntityKey) -> EntityKey? {
        switch key.level {
        case .market: nil
        case .group: .market
        case .brand: brands[key.id].map { EntityKey(.group, $0.group) }
        case .model: models[key.id].map { EntityKey(.brand, $0.brand) }
        case .segment: nil
        }
    }

    /// Whether the catalog expects the entity to deliver in a month, so that a sum above it without
    /// its figure is short of it: a model from its `deliveriesBegan` to its `deliveriesEnded` (each
    /// open when absent); a brand or group with no children in the catalog, or with any child
    /// expected; the market always.
    public func expects(_ key: EntityKey, in month: Period) -> Bool {
        switch key.level {
        case .market, .segment:
            return true
        case .model:
            guard models[key.id] != nil else { return false }
            guard let dates = deliveryMonths[key.id] else { return true }
            if let first = dates.first, month < first { return false }
            if let last = dates.last, last < month { return false }
            return true
        case .group, .brand:
            let children = children(of: key)
            return children.isEmpty || children.contains { expects($0, in: month) }
        }
    }

    /// Whether the entity may have figures of a powertrain: a model the catalog lists with its
    /// `powertrains` when it has one of the powertrain's kinds (any model listed without them
    /// may); a brand or group when any of its children may (or it has none); the market always.
    public func offers(_ key: EntityKey, _ powertrain: Powertrain) -> Bool {
        switch key.level {
        case .market, .segment:
            return true
        case .model:
            guard let tags = models[key.id]?.powertrains, !tags.isEmpty else { return true }
            let kinds = Powertrain.kinds(of: powertrain)
            return tags.contains { Powertrain.tagged($0).map(kinds.contains) ?? false }
        case .group, .brand:
            let children = children(of: key)
            return children.isEmpty || children.contains { offers($0, powertrain) }
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
        // A segment stands beside the hierarchy: its topic is `figure.segment:<id>.`, which no
        // group's can be (':' is not in ids).
        if key.level == .segment { return ["segment:" + key.id] }
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
        case .segment: name = segments[key.id]?.name ?? key.id
        }
        return EntityRef(level: key.level, id: key.id, name: name, path: path(of: key))
    }

    /// Resolves a request's entity: the deepest level named, its parents used to tell apart
    /// entities of the same name.
    public func resolve(_ selector: EntitySelector) throws(ProtocolError) -> EntityKey {
        if let name = selector.segment {
            let lowered = name.lowercased()
            guard let segment = segments.values.first(where: { $0.id == lowered || $0.name.lowercased() == lowered }) else {
                throw ProtocolError(.unknownEntity, "no segment named '\(name)' in the catalog", details: ["field": .string("segment"), "name": .string(name)])
            }
            return EntityKey(.segment, segment.id)
        }
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
                details: ["field": .string(level.rawValue), "name": .string(name), "candidates": .array(matches.sorted().map { .string($0) })]
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
