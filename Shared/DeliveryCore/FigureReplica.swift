import DeliveryMessages

/// A copy of the aggregates' figures, as a query replica holds it: installed from snapshots and
/// then from `figure.batch` updates, with the market's figures summed here from every group
/// (see `MarketBook`) so that shards that split the groups still add up to one market.
///
/// Storage is compact, the way `FigureBook` keeps figures: an entity is a dense index (named by
/// the catalog only when a figure is read), a figure is keyed by one integer, numbers and
/// qualifiers are stored flat, and names that repeat (sources, streams, stamps) are kept once.
public struct FigureReplica: MeasuredStore, Sendable {
    public private(set) var catalog = Catalog()
    private var figures = PackedTable<StoredFigure>()
    private var entities: [EntityKey: UInt32] = [:]
    private var entityKeys: [EntityKey] = []
    private var names = Interner()
    private var market = MarketBook()
    /// Each aggregate's own market figures as it sent them (partial when shards split the
    /// groups), so that the market can be summed again after a resync.
    private var shardMarket: [UInt8: [MarketBook.Key: FigureRecord]] = [:]
    /// Each figure's earlier reports as its aggregate sent them, for the figures that have any.
    private var earlier: [UInt64: [SourceFigure]] = [:]

    public init() {}

    public var count: Int { figures.count }

    /// The earliest month of any figure received (kept through removals: a bound, not a fact).
    public private(set) var earliestMonth: Period?

    public func summary(_ entity: EntityKey, _ period: Period) -> FigureSummary? {
        summary(entity, period, .default)
    }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        figure(entity, period, .default)
    }

    public func summary(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> FigureSummary? {
        guard let index = entities[entity], let position = figures.position(of: Self.pack(index, period, measure, powertrain)) else { return nil }
        let stored = figures.nodes[position]
        return FigureSummary(
            units: stored.units, qualifier: stored.qualifier, basis: stored.basis, complete: stored.complete, interval: stored.interval,
            fromParts: stored.fromParts
        )
    }

    /// A figure's earlier reports (the market's own: as the shard that owns them sent them).
    public func revisions(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> [SourceFigure] {
        if entity.level == .market {
            let key = MarketBook.Key(period, measure, powertrain)
            return shardMarket.keys.sorted().lazy.compactMap { self.shardMarket[$0]?[key] }.first { !$0.revisions.isEmpty }?.revisions ?? []
        }
        guard !earlier.isEmpty, let index = entities[entity] else { return [] }
        return earlier[Self.pack(index, period, measure, powertrain)] ?? []
    }

    public func figure(_ entity: EntityKey, _ period: Period, _ measure: Measure, _ powertrain: Powertrain?) -> FigureBody? {
        guard let index = entities[entity], let position = figures.position(of: Self.pack(index, period, measure, powertrain)) else { return nil }
        let stored = figures.nodes[position]
        return stored.body(catalog.ref(entity), FigureKey(entity, period, measure, powertrain), previous: stored.units, names: names)
    }

    /// Takes a figure from an aggregate and returns every figure that now differs from what was
    /// held (the figure itself, or the market figures it sums into), each with its key and with
    /// `previous` set to the units held before. With `reporting` false (a first load, which has
    /// nobody to tell) nothing is returned and no body is built.
    @discardableResult
    public mutating func receive(_ figure: FigureRecord, origin: UInt8 = 0, reporting: Bool = true) -> [FigureChange] {
        guard let period = try? Period(parsing: figure.period) else { return [] }
        let key = EntityKey(figure.level, figure.id)
        var changed: [FigureChange] = []
        let touched: [MarketBook.Key]
        if key.level == .market {
            shardMarket[origin, default: [:]][MarketBook.Key(period, figure.measure, figure.powertrain)] = figure
            touched = market.takeMarket(figure, period: period)
        } else {
            install(figure, key: key, period: period, origin: origin, reporting: reporting, into: &changed)
            touched = market.takeGroup(figure, key: FigureKey(key, period, figure.measure, figure.powertrain))
        }
        remarket(touched, reporting: reporting, into: &changed)
        return changed
    }

    /// Installs the market's figures of the periods the market book touched (it sums them here);
    /// a period with nothing left in it is removed.
    private mutating func remarket(_ keys: [MarketBook.Key], reporting: Bool, into changed: inout [FigureChange]) {
        guard !keys.isEmpty else { return }
        let ref = catalog.ref(.market)
        for key in keys {
            if let body = market.body(key, entity: ref) {
                install(FigureRecord(body), key: .market, period: key.period, origin: Self.marketOrigin, reporting: reporting, into: &changed)
            } else if let index = entities[.market], let gone = figures.remove(Self.pack(index, key.period, key.measure, key.powertrain)), reporting {
                let figure = FigureKey(.market, key.period, key.measure, key.powertrain)
                changed.append(FigureChange(key: figure, body: Self.removal(ref, figure, gone), removed: true))
            }
        }
    }

    /// The market's figures are made here, from every source: no one source's resync removes them.
    static let marketOrigin = UInt8.max

    /// A removed figure as subscribers are told of it: units 0, `previous` what was held.
    static func removal(_ entity: EntityRef, _ key: FigureKey, _ gone: StoredFigure) -> FigureBody {
        FigureBody(
            entity: entity, period: key.period.description, units: 0, previous: gone.units, basis: .computed, qualifier: .exact, cause: nil,
            source: nil, reported: nil, reportedQualifier: nil, computed: nil, computedQualifier: nil, complete: false, sources: [],
            measure: key.measure, powertrain: key.powertrain
        )
    }

    /// A resync from one aggregate: its new snapshot replaces everything it had sent. Figures it
    /// no longer has are removed, and the market is summed again from what every aggregate now
    /// holds. Returns every figure that changed or went (a removal has units 0 and `previous`).
    public mutating func replace(origin: UInt8, with snapshot: some Sequence<FigureRecord>) -> [FigureChange] {
        var changed: [FigureChange] = []
        var kept = Set<UInt64>()
        shardMarket[origin] = [:]
        for figure in snapshot {
            guard let period = try? Period(parsing: figure.period) else { continue }
            let key = EntityKey(figure.level, figure.id)
            if key.level == .market {
                shardMarket[origin, default: [:]][MarketBook.Key(period, figure.measure, figure.powertrain)] = figure
                continue
            }
            install(figure, key: key, period: period, origin: origin, reporting: true, into: &changed)
            if let index = entities[key] { kept.insert(Self.pack(index, period, figure.measure, figure.powertrain)) }
        }
        let absent = zip(figures.keys, figures.nodes).filter { $0.1.origin == origin && !kept.contains($0.0) }.map(\.0)
        for packed in absent {
            earlier[packed] = nil
            guard let gone = figures.remove(packed) else { continue }
            let key = key(packed: packed)
            changed.append(FigureChange(key: key, body: Self.removal(catalog.ref(key.entity), key, gone), removed: true))
        }
        resumMarket(into: &changed)
        return changed
    }

    /// Sums the market again from the group months held and each aggregate's market figures:
    /// what one aggregate holding everything would have.
    private mutating func resumMarket(into changed: inout [FigureChange]) {
        var fresh = MarketBook()
        for (packed, stored) in zip(figures.keys, figures.nodes) {
            let key = key(packed: packed)
            guard key.entity.level == .group, key.period.kind == .month else { continue }
            let record = FigureRecord(stored.body(catalog.ref(key.entity), key, previous: stored.units, names: names))
            _ = fresh.takeGroup(record, key: key)
        }
        for origin in shardMarket.keys.sorted() {
            for (key, record) in shardMarket[origin] ?? [:] { _ = fresh.takeMarket(record, period: key.period) }
        }
        market = fresh
        let keys = Set(market.keys)
        var held: [MarketBook.Key] = []
        if let index = entities[.market] {
            // The market's own figures, found by their entity index without naming every figure.
            held = figures.keys.compactMap { packed in
                let (entity, period, measure, powertrain) = FigureBook.unpack(packed)
                return entity == index ? MarketBook.Key(period, measure, powertrain) : nil
            }
        }
        remarket(Array(keys.union(held)).sorted(), reporting: true, into: &changed)
    }

    /// Installs a figure; adds it (with `previous` set) to `changed` when it differs from what was
    /// held and `reporting` is on.
    private mutating func install(
        _ figure: FigureRecord, key: EntityKey, period: Period, origin: UInt8, reporting: Bool,
        into changed: inout [FigureChange]
    ) {
        let index: UInt32
        if let known = entities[key] {
            index = known
        } else {
            index = UInt32(entityKeys.count)
            entityKeys.append(key)
            entities[key] = index
        }
        let packed = Self.pack(index, period, figure.measure, figure.powertrain)
        let month = period.months.first ?? period
        if earliestMonth.map({ month < $0 }) ?? true { earliestMonth = month }
        var stored = StoredFigure(figure, names: &names)
        stored.origin = origin
        var revised = false
        if origin != Self.marketOrigin {
            let before = earlier.isEmpty ? [] : earlier[packed] ?? []
            revised = before != figure.revisions
            if revised { earlier[packed] = figure.revisions.isEmpty ? nil : figure.revisions }
        }
        let old: StoredFigure?
        if let position = figures.position(of: packed) {
            old = figures.nodes[position]
            figures.nodes[position] = stored
        } else {
            old = nil
            _ = figures.insert(packed) { stored }
        }
        if reporting, old != stored || revised {
            changed.append(
                FigureChange(key: FigureKey(key, period, figure.measure, figure.powertrain), body: figure.body(entity: catalog.ref(key), previous: old?.units ?? 0), removed: false)
            )
        }
    }

    /// Room for `more` figures beyond those held, before a snapshot's many arrive.
    public mutating func reserveCapacity(_ more: Int) {
        figures.reserveCapacity(figures.count + more)
    }

    /// Takes an aggregate's whole catalog from a snapshot: it replaces the one held (a resync
    /// replaces state, and the aggregate may have settled a conflict the other way).
    public mutating func replaceCatalog(_ document: CatalogDocument) {
        var fresh = Catalog()
        if (try? fresh.merge(document)) != nil { catalog = fresh }
    }

    public mutating func mergeCatalog(_ document: CatalogDocument) {
        try? catalog.merge(document)
    }

    /// Every figure whose topic starts with `prefix` (`figure.hima.`, `figure:retail.hima.`), in a
    /// stable order.
    public func figures(prefix: String) -> [FigureBody] {
        var refs: [UInt32: EntityRef] = [:]
        var result: [FigureBody] = []
        for (packed, stored) in zip(figures.keys, figures.nodes) {
            let (entity, period, measure, powertrain) = FigureBook.unpack(packed)
            let ref = refs[entity] ?? catalog.ref(entityKeys[Int(entity)])
            refs[entity] = ref
            guard prefix.isEmpty || ref.topic(.figure, measure: measure, powertrain: powertrain).hasPrefix(prefix) else { continue }
            let key = FigureKey(entityKeys[Int(entity)], period, measure, powertrain)
            result.append(stored.body(ref, key, previous: stored.units, names: names))
        }
        return result.sorted {
            if $0.measure != $1.measure { return ($0.measure ?? .default).code < ($1.measure ?? .default).code }
            if $0.powertrain != $1.powertrain { return Powertrain.code($0.powertrain) < Powertrain.code($1.powertrain) }
            return $0.entity.path != $1.entity.path ? $0.entity.path.lexicographicallyPrecedes($1.entity.path) : $0.period < $1.period
        }
    }

    static func pack(_ entity: UInt32, _ period: Period, _ measure: Measure = .default, _ powertrain: Powertrain? = nil) -> UInt64 {
        FigureBook.pack(entity, period, measure, powertrain)
    }

    func key(packed: UInt64) -> FigureKey {
        let (entity, period, measure, powertrain) = FigureBook.unpack(packed)
        return FigureKey(entityKeys[Int(entity)], period, measure, powertrain)
    }
}

/// A figure a replica changed: its new state, or its removal (`body` then has units 0 and
/// `previous` as held).
public struct FigureChange: Sendable {
    public let key: FigureKey
    public let body: FigureBody
    public let removed: Bool

    public init(key: FigureKey, body: FigureBody, removed: Bool) {
        self.key = key
        self.body = body
        self.removed = removed
    }
}

/// One figure on a replica, flat: absent numbers are `Int64.min`, absent names `UInt32.max`.
/// Stored properties: one per figure field, flat scalars on purpose (no optionals, no nested
/// structs): a replica holds millions, and this layout keeps each within the bench's budget.
struct StoredFigure: Sendable, Equatable {
    static let none = Int64.min
    static let noName = UInt32.max

    /// One source's latest report.
    struct Source: Sendable, Equatable {
        var units: Int64
        var seq: UInt64
        var reportId: String
        var source: UInt32
        var stream: UInt32
        var stamp: UInt32
        var qualifier: Qualifier
        /// The segment rank its report states; 0 for none.
        var rank: UInt16 = 0
    }

    /// The interval fields of an approximate figure and of its sources, kept apart so that the
    /// exact figures (most of them) pay one empty reference for them.
    final class Intervals: Sendable, Equatable {
        let low: Int64?
        let high: Int64?
        /// Per source, in the figure's source order.
        let sources: [Bound]

        struct Bound: Sendable, Equatable {
            var low: Int64?
            var high: Int64?
        }

        init?(_ figure: FigureRecord) {
            let sources = figure.sources.map { Bound(low: $0.low, high: $0.high) }
            guard figure.low != nil || figure.high != nil || sources.contains(where: { $0.low != nil || $0.high != nil }) else { return nil }
            (low, high, self.sources) = (figure.low, figure.high, sources)
        }

        static func == (a: Intervals, b: Intervals) -> Bool {
            a.low == b.low && a.high == b.high && a.sources == b.sources
        }
    }

    var units: Int64
    var reported: Int64
    var computed: Int64
    var causeSeq: UInt64
    var causeReport: String?
    var causeStream: UInt32
    var causeStamp: UInt32
    var source: UInt32
    var basis: Basis
    var qualifier: Qualifier
    var reportedQualifier: Qualifier?
    var computedQualifier: Qualifier?
    var complete: Bool
    /// A computed figure that is the sum of its powertrain parts.
    var fromParts: Bool
    /// The interval fields as they came; nil when there are none.
    var intervals: Intervals?
    /// Which aggregate it came from (the replica's index of it), so that a resync from that one
    /// removes what its new snapshot no longer has.
    var origin: UInt8 = 0
    /// The sources, sorted by name: the first inline (most figures have one or none), the rest
    /// beside it.
    var first: Source?
    var others: [Source]

    init(_ figure: FigureRecord, names: inout Interner) {
        units = figure.units
        reported = figure.reported ?? Self.none
        computed = figure.computed ?? Self.none
        causeSeq = figure.cause?.seq ?? 0
        causeReport = figure.cause?.reportId
        causeStream = figure.cause.map { names.index($0.stream) } ?? Self.noName
        causeStamp = figure.cause?.reportedAt.map { names.index($0) } ?? Self.noName
        source = figure.source.map { names.index($0) } ?? Self.noName
        basis = figure.basis
        qualifier = figure.qualifier
        reportedQualifier = figure.reportedQualifier
        computedQualifier = figure.computedQualifier
        complete = figure.complete
        fromParts = figure.fromParts
        intervals = Intervals(figure)
        var sources = figure.sources.map { source in
            Source(
                units: source.units, seq: source.seq, reportId: source.reportId, source: names.index(source.source),
                stream: names.index(source.stream), stamp: names.index(source.reportedAt), qualifier: source.qualifier,
                rank: UInt16(clamping: source.segmentRank ?? 0)
            )
        }
        first = sources.isEmpty ? nil : sources.removeFirst()
        others = sources
    }

    var interval: Interval {
        FigureBody.wireInterval(units, qualifier, low: intervals?.low, high: intervals?.high)
    }

    func body(_ entity: EntityRef, _ key: FigureKey, previous: Int64, names: Interner) -> FigureBody {
        FigureBody(
            entity: entity, period: key.period.description, units: units, previous: previous, basis: basis, qualifier: qualifier,
            cause: causeStream == Self.noName
                ? nil
                : Cause(
                    stream: names.value(causeStream), seq: causeSeq, reportId: causeReport,
                    reportedAt: causeStamp == Self.noName ? nil : names.value(causeStamp)
                ),
            source: source == Self.noName ? nil : names.value(source),
            reported: reported == Self.none ? nil : reported, reportedQualifier: reportedQualifier,
            computed: computed == Self.none ? nil : computed, computedQualifier: computedQualifier, complete: complete,
            sources: ((first.map { [$0] } ?? []) + others).enumerated().map { index, source in
                let bound = intervals.flatMap { index < $0.sources.count ? $0.sources[index] : nil }
                return SourceFigure(
                    source: names.value(source.source), units: source.units, qualifier: source.qualifier,
                    reportedAt: names.value(source.stamp), reportId: source.reportId, stream: names.value(source.stream),
                    seq: source.seq, interval: FigureBody.wireInterval(source.units, source.qualifier, low: bound?.low, high: bound?.high),
                    segmentRank: source.rank == 0 ? nil : Int(source.rank)
                )
            },
            interval: interval, measure: key.measure, powertrain: key.powertrain, computedFrom: fromParts ? .powertrains : nil
        )
    }
}
