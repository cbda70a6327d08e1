import ArgumentParser
import DeliveryMessages

/// The flags that name an entity and the other query fields; shared by `query`, `chart` and
/// `brief`. Each query kind builds its typed request from them (`ClientQuery`).
/// Stored properties: one per command-line flag (ArgumentParser reads each into its own property).
public struct QueryOptions: ParsableArguments {
    @Flag(help: "The whole market.") public var market = false
    @Option(help: "Group (alliance or automaker group) name, id or alias.") public var group: String?
    @Option(help: "Brand name, id or alias.") public var brand: String?
    @Option(help: "Model name, id or alias.") public var model: String?
    @Option(help: "A price segment's reported market-wide total, as the entity (id or name).") public var segmentTotal: String?
    @Option(help: "Period: YYYY-MM, YYYY-Qn or YYYY.") public var period: String?
    @Option(help: "units: only this source's reports.") public var source: String?
    @Option(help: "share: the whole, a group (default: the parent).") public var ofGroup: String?
    @Option(help: "share: the whole, a brand.") public var ofBrand: String?
    @Flag(help: "share: the whole market.") public var ofMarket = false
    @Option(help: "growth: mom, qoq or yoy.") public var vs: String?
    @Option(help: "ranking: model, brand or group.") public var level: String?
    @Option(help: "ranking: within this group.") public var withinGroup: String?
    @Option(help: "ranking: within this brand.") public var withinBrand: String?
    @Option(help: "ranking, streak: price segment id or name.") public var segment: String?
    @Option(
        help: """
            Which powertrain's figures: BEV, PHEV, EREV, FCEV, HEV, ICE, or a group, NEV or plug-in (default: the whole). \
            ranking: models the catalog lists with it, unless --by-powertrain.
            """
    )
    public var powertrain: String?
    @Flag(help: "ranking: rank by the --powertrain figures (any level) instead of filtering models by the catalog.")
    public var byPowertrain = false
    @Option(help: "share, with --powertrain: the whole's powertrain (NEV, plug-in, or all; default: all of the same entity).")
    public var ofPowertrain: String?
    @Option(help: "ranking: only the first N rows.") public var top: Int?
    @Option(help: "panel: the entities, level:name pairs, comma-separated (brand:AITO,brand:Luxeed).") public var entities: [String] = []
    @Option(help: "series, panel: first period; convert: currency code.") public var from: String?
    @Option(help: "series: last period; convert: currency code.") public var to: String?
    @Option(help: "series: month, quarter or year.") public var granularity: String?
    @Option(help: "convert: the amount.") public var amount: Double?
    @Option(help: "streak: months with at least this many units.") public var atLeast: Int64?
    @Option(help: "streak: months with at most this many units.") public var atMost: Int64?
    @Option(help: "streak: months of growth, mom or yoy (with --direction).") public var growth: String?
    @Option(help: "streak: up or down (with --growth).") public var direction: String?
    @Option(help: "cumulative: the month the total first reached this.") public var milestone: Int64?
    @Option(help: "Answer only once these positions are applied: stream:seq[,stream:seq].") public var after: String?
    @Option(help: "With --after: how long the service may wait, in milliseconds.") public var timeoutMs: Int?
    @Option(help: "Which figures: deliveries (the default), retail, wholesale, registrations, production or exports.")
    public var measure: String?
    @Option(help: "Answer as of this moment (2025-06-02T00:00:00Z): from the reports known then, as if later ones had never come.")
    public var knownAt: String?
    @Option(help: "units: another measure of the same entity and period to show beside it (registrations, say).")
    public var compare: String?

    public init() {}

    /// The entity the flags name, or nil when they name none.
    public func selector() -> EntitySelector? {
        guard market || group != nil || brand != nil || model != nil || segmentTotal != nil else { return nil }
        if let segmentTotal { return EntitySelector(segment: segmentTotal) }
        return EntitySelector(market: market ? true : nil, group: group, brand: brand, model: model)
    }

    public func entity() throws -> EntitySelector {
        guard let selector = selector() else { throw ValidationError("name an entity: --group, --brand, --model, --market or --segment-total") }
        return selector
    }

    func need<Value>(_ value: Value?, _ flag: String, for kind: QueryKind) throws -> Value {
        guard let value else { throw ValidationError("\(kind.rawValue) needs --\(flag)") }
        return value
    }

    /// A flag whose values are an enum's cases.
    func choice<Value: RawRepresentable & CaseIterable>(_ text: String, _ flag: String) throws -> Value where Value.RawValue == String {
        guard let value = Value(rawValue: text.lowercased()) else {
            throw ValidationError("--\(flag) is one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return value
    }

    /// The read-your-writes fields, and which figures to read (`ranking` carries its own
    /// `powertrain`).
    public func control(for kind: QueryKind) throws -> QueryControl {
        var positions: [String: UInt64]?
        if let after {
            var parsed: [String: UInt64] = [:]
            for part in after.split(separator: ",") {
                let pieces = part.split(separator: ":")
                guard pieces.count == 2, let seq = UInt64(pieces[1]) else {
                    throw ValidationError("--after takes stream:seq pairs, comma-separated")
                }
                parsed[String(pieces[0])] = seq
            }
            positions = parsed
        }
        var measured: Measure?
        if let measure {
            guard let known = Measure(rawValue: measure) else {
                throw ValidationError("--measure is one of \(Measure.allCases.map(\.rawValue).joined(separator: ", ")), not '\(measure)'")
            }
            measured = known
        }
        var control = QueryControl(after: positions, timeoutMs: timeoutMs, measure: measured)
        control.knownAt = knownAt
        if let powertrain, kind != .ranking {
            guard Powertrain(rawValue: powertrain) != nil else {
                throw ValidationError("--powertrain is one of \(Powertrain.spellings), not '\(powertrain)'")
            }
            control.powertrain = powertrain
        }
        return control
    }
}

/// A query the client can build from flags and show as a table.
public protocol ClientQuery: QueryRequest where Result: TableRenderable {
    init(options: QueryOptions) throws
}

extension QueryKind {
    /// Each kind's typed request for the client: a kind the client cannot build is a compile error.
    public var client: any ClientQuery.Type {
        switch self {
        case .units: UnitsQuery.self
        case .share: ShareQuery.self
        case .growth: GrowthQuery.self
        case .ytd: YTDQuery.self
        case .ranking: RankingQuery.self
        case .streak: StreakQuery.self
        case .series: SeriesQuery.self
        case .reconcile: ReconcileQuery.self
        case .convert: ConvertQuery.self
        case .catalog: CatalogQuery.self
        case .record: RecordQuery.self
        case .cumulative: CumulativeQuery.self
        case .brief: BriefQuery.self
        case .panel: PanelQuery.self
        case .revisions: RevisionsQuery.self
        }
    }
}

extension UnitsQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        var compare: Measure?
        if let name = options.compare {
            guard let measure = Measure(rawValue: name) else {
                throw ValidationError("--compare is one of \(Measure.allCases.map(\.rawValue).joined(separator: ", ")), not '\(name)'")
            }
            compare = measure
        }
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .units), source: options.source, compare: compare)
    }
}

extension ShareQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        var of: EntitySelector?
        if options.ofMarket {
            of = .wholeMarket
        } else if let brand = options.ofBrand {
            of = EntitySelector(brand: brand)
        } else if let group = options.ofGroup {
            of = EntitySelector(group: group)
        }
        self.init(
            entity: try options.entity(), period: try options.need(options.period, "period", for: .share), of: of, ofPowertrain: options.ofPowertrain
        )
    }
}

extension GrowthQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        let vs: GrowthBasis = try options.choice(try options.need(options.vs, "vs (mom, qoq or yoy)", for: .growth), "vs")
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .growth), vs: vs)
    }
}

extension YTDQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .ytd))
    }
}

extension RankingQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        var within: EntitySelector?
        if let brand = options.withinBrand {
            within = EntitySelector(brand: brand)
        } else if let group = options.withinGroup {
            within = EntitySelector(group: group)
        }
        let level: Level = try options.choice(options.level ?? "model", "level")
        guard [.model, .brand, .group].contains(level) else {
            throw ValidationError("--level is one of model, brand, group, not '\(options.level ?? "")'")
        }
        self.init(
            period: try options.need(options.period, "period", for: .ranking), level: level,
            within: within, segment: options.segment, powertrain: options.powertrain, top: options.top,
            byPowertrain: options.byPowertrain ? true : nil
        )
    }
}

extension StreakQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        let period = try options.need(options.period, "period", for: .streak)
        if options.atLeast != nil || options.atMost != nil || options.growth != nil || options.direction != nil {
            let condition = StreakCondition(
                atLeast: options.atLeast, atMost: options.atMost, growth: try options.growth.map { try options.choice($0, "growth") },
                direction: try options.direction.map { try options.choice($0, "direction") }
            )
            self.init(period: period, entity: try options.entity(), condition: condition)
            return
        }
        self.init(
            segment: try options.need(options.segment, "segment (or --at-least, --at-most, --growth)", for: .streak), period: period,
            entity: options.selector()
        )
    }
}

extension RecordQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .record))
    }
}

extension CumulativeQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .cumulative), milestone: options.milestone)
    }
}

extension BriefQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .brief))
    }
}

extension SeriesQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(
            entity: try options.entity(), from: try options.need(options.from, "from", for: .series), to: try options.need(options.to, "to", for: .series),
            granularity: try options.granularity.map { try options.choice($0, "granularity") }
        )
    }
}

extension PanelQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        guard !options.entities.isEmpty else {
            throw ValidationError("a panel needs --entities: level:name pairs, comma-separated (brand:AITO,brand:Luxeed,group:HIMA)")
        }
        var selectors: [EntitySelector] = []
        for item in options.entities.flatMap({ $0.split(separator: ",") }) {
            let parts = item.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[1].isEmpty else { throw ValidationError("--entities takes level:name, not '\(item)'") }
            switch parts[0].lowercased() {
            case "group": selectors.append(EntitySelector(group: parts[1]))
            case "brand": selectors.append(EntitySelector(brand: parts[1]))
            case "model": selectors.append(EntitySelector(model: parts[1]))
            case "segment": selectors.append(EntitySelector(segment: parts[1]))
            case "market": selectors.append(.wholeMarket)
            default: throw ValidationError("--entities: the level is group, brand, model, segment or market, not '\(parts[0])'")
            }
        }
        self.init(
            entities: selectors, from: try options.need(options.from, "from", for: .panel), to: try options.need(options.to, "to", for: .panel),
            granularity: try options.granularity.map { try options.choice($0, "granularity") }
        )
    }
}

extension ReconcileQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .reconcile))
    }
}

extension ConvertQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(
            amount: try options.need(options.amount, "amount", for: .convert), from: try options.need(options.from, "from (a currency code)", for: .convert),
            to: try options.need(options.to, "to (a currency code)", for: .convert)
        )
    }
}

extension CatalogQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init()
    }
}

extension RevisionsQuery: ClientQuery {
    public init(options: QueryOptions) throws {
        self.init(entity: try options.entity(), period: try options.need(options.period, "period", for: .revisions), source: options.source)
    }
}
