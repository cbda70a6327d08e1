import DeliveryMessages

/// A copy of the aggregates' figures, as a query replica holds it: installed from snapshots and
/// then from `figure.batch` updates, with the market's figures summed here from every group
/// (see `MarketBook`) so that shards that split the groups still add up to one market.
///
/// Storage is compact, the way `FigureBook` keeps figures: an entity is a dense index (named by
/// the catalog only when a figure is read), a figure is keyed by one integer, numbers and
/// qualifiers are stored flat, and names that repeat (sources, streams, stamps) are kept once.
public struct FigureReplica: FigureStore, Sendable {
    public private(set) var catalog = Catalog()
    private var figures = PackedTable<StoredFigure>()
    private var entities: [EntityKey: UInt32] = [:]
    private var entityKeys: [EntityKey] = []
    private var names = Interner()
    private var market = MarketBook()

    public init() {}

    public var count: Int { figures.count }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        guard let index = entities[entity], let position = figures.position(of: Self.pack(index, period)) else { return nil }
        let stored = figures.nodes[position]
        return stored.body(catalog.ref(entity), period, previous: stored.units, names: names)
    }

    /// Takes a figure from an aggregate and returns every figure that now differs from what was
    /// held (the figure itself, or the market figures it sums into), each with its key and with
    /// `previous` set to the units held before. With `reporting` false (a first load, which has
    /// nobody to tell) nothing is returned and no body is built.
    @discardableResult
    public mutating func receive(_ figure: FigureRecord, reporting: Bool = true) -> [(key: FigureKey, body: FigureBody)] {
        guard let period = try? Period(parsing: figure.period) else { return [] }
        let key = EntityKey(figure.level, figure.id)
        var changed: [(key: FigureKey, body: FigureBody)] = []
        let periods: [Period]
        if key.level == .market {
            periods = market.takeMarket(figure, period: period)
        } else {
            install(figure, key: key, period: period, reporting: reporting, into: &changed)
            periods = market.takeGroup(figure, key: FigureKey(key, period))
        }
        guard !periods.isEmpty else { return changed }
        let ref = catalog.ref(.market)
        for period in periods {
            guard let body = market.body(period, entity: ref) else { continue }
            install(FigureRecord(body), key: .market, period: period, reporting: reporting, into: &changed)
        }
        return changed
    }

    /// Removes every figure: a replica that resyncs from a new snapshot replaces its state.
    public mutating func removeAll() {
        figures = PackedTable()
        market = MarketBook()
    }

    /// Installs a figure; adds it (with `previous` set) to `changed` when it differs from what was
    /// held and `reporting` is on.
    private mutating func install(
        _ figure: FigureRecord, key: EntityKey, period: Period, reporting: Bool, into changed: inout [(key: FigureKey, body: FigureBody)]
    ) {
        let index: UInt32
        if let known = entities[key] {
            index = known
        } else {
            index = UInt32(entityKeys.count)
            entityKeys.append(key)
            entities[key] = index
        }
        let packed = Self.pack(index, period)
        let stored = StoredFigure(figure, names: &names)
        let old: StoredFigure?
        if let position = figures.position(of: packed) {
            old = figures.nodes[position]
            figures.nodes[position] = stored
        } else {
            old = nil
            _ = figures.insert(packed) { stored }
        }
        if reporting, old != stored {
            changed.append((FigureKey(key, period), figure.body(entity: catalog.ref(key), previous: old?.units ?? 0)))
        }
    }

    public mutating func mergeCatalog(_ document: CatalogDocument) {
        try? catalog.merge(document)
    }

    /// Every figure whose topic starts with `prefix` (`figure.hima.`), in a stable order.
    public func figures(prefix: String) -> [FigureBody] {
        var refs: [UInt32: EntityRef] = [:]
        var result: [FigureBody] = []
        for (packed, stored) in zip(figures.keys, figures.nodes) {
            let entity = UInt32(packed >> 17)
            let ref = refs[entity] ?? catalog.ref(entityKeys[Int(entity)])
            refs[entity] = ref
            guard prefix.isEmpty || ref.topic("figure").hasPrefix(prefix) else { continue }
            result.append(stored.body(ref, Period(packed: UInt32(packed & 0x1FFFF)), previous: stored.units, names: names))
        }
        return result.sorted {
            $0.entity.path != $1.entity.path ? $0.entity.path.lexicographicallyPrecedes($1.entity.path) : $0.period < $1.period
        }
    }

    static func pack(_ entity: UInt32, _ period: Period) -> UInt64 {
        UInt64(entity) << 17 | UInt64(period.packed)
    }
}

/// One figure on a replica, flat: absent numbers are `Int64.min`, absent names `UInt32.max`.
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
        var sources = figure.sources.map { source in
            Source(
                units: source.units, seq: source.seq, reportId: source.reportId, source: names.index(source.source),
                stream: names.index(source.stream), stamp: names.index(source.reportedAt), qualifier: source.qualifier
            )
        }
        first = sources.isEmpty ? nil : sources.removeFirst()
        others = sources
    }

    func body(_ entity: EntityRef, _ period: Period, previous: Int64, names: Interner) -> FigureBody {
        FigureBody(
            entity: entity, period: period.description, units: units, previous: previous, basis: basis, qualifier: qualifier,
            cause: causeStream == Self.noName
                ? nil
                : Cause(
                    stream: names.value(causeStream), seq: causeSeq, reportId: causeReport,
                    reportedAt: causeStamp == Self.noName ? nil : names.value(causeStamp)
                ),
            source: source == Self.noName ? nil : names.value(source),
            reported: reported == Self.none ? nil : reported, reportedQualifier: reportedQualifier,
            computed: computed == Self.none ? nil : computed, computedQualifier: computedQualifier, complete: complete,
            sources: ((first.map { [$0] } ?? []) + others).map { source in
                SourceFigure(
                    source: names.value(source.source), units: source.units, qualifier: source.qualifier,
                    reportedAt: names.value(source.stamp), reportId: source.reportId, stream: names.value(source.stream),
                    seq: source.seq
                )
            }
        )
    }
}
