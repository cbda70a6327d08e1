import DeliveryMessages

/// A copy of the aggregates' figures, as a query replica holds it: installed from snapshots and
/// then from `figure.changed` updates, with the market's figures summed here from every group
/// (see `MarketBook`) so that shards that split the groups still add up to one market.
public struct FigureReplica: FigureStore, Sendable {
    public private(set) var catalog = Catalog()
    private var figures: [FigureKey: FigureBody] = [:]
    private var market = MarketBook()

    public init() {}

    public var count: Int { figures.count }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        figures[FigureKey(entity, period)]
    }

    /// Takes a figure from an aggregate and returns every figure that now differs from what was
    /// held (the figure itself, or the market figures it sums into), each with `previous` set to
    /// the units held before.
    public mutating func receive(_ figure: FigureBody) -> [FigureBody] {
        guard let key = figure.key else { return [] }
        var changed: [FigureBody] = []
        let periods: [Period]
        if key.entity.level == .market {
            periods = market.takeMarket(figure, period: key.period)
        } else {
            if let installed = install(figure, key: key) { changed.append(installed) }
            periods = market.takeGroup(figure, key: key)
        }
        let ref = catalog.ref(.market)
        for period in periods {
            guard let body = market.body(period, entity: ref), let installed = install(body, key: FigureKey(.market, period))
            else { continue }
            changed.append(installed)
        }
        return changed
    }

    /// Installs a figure; returns it with `previous` set, or nil when nothing differs.
    private mutating func install(_ figure: FigureBody, key: FigureKey) -> FigureBody? {
        var figure = figure
        let old = figures[key]
        figure.previous = old?.units ?? 0
        if let old, Self.sameState(old, figure) { return nil }
        figures[key] = figure
        return figure
    }

    public mutating func mergeCatalog(_ document: CatalogDocument) {
        try? catalog.merge(document)
    }

    /// Every figure whose topic starts with `prefix` (`figure.hima.`), in a stable order.
    public func figures(prefix: String) -> [FigureBody] {
        figures.values
            .filter { prefix.isEmpty || $0.entity.topic("figure").hasPrefix(prefix) }
            .sorted {
                $0.entity.path != $1.entity.path
                    ? $0.entity.path.lexicographicallyPrecedes($1.entity.path) : $0.period < $1.period
            }
    }

    public var all: [FigureKey: FigureBody] { figures }

    /// Two figures are the same state when everything but `previous` agrees.
    static func sameState(_ a: FigureBody, _ b: FigureBody) -> Bool {
        var b = b
        b.previous = a.previous
        return a == b
    }
}
