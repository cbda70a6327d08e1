import DeliveryMessages

/// A copy of the aggregate's figures, as a query replica holds it: installed from a snapshot and
/// then from `figure.changed` updates.
public struct FigureReplica: FigureStore, Sendable {
    public private(set) var catalog = Catalog()
    private var figures: [FigureKey: FigureBody] = [:]

    public init() {}

    public var count: Int { figures.count }

    public func figure(_ entity: EntityKey, _ period: Period) -> FigureBody? {
        figures[FigureKey(entity, period)]
    }

    /// Installs a figure; returns whether it differs from what was held.
    @discardableResult
    public mutating func install(_ figure: FigureBody) -> Bool {
        guard let key = figure.key else { return false }
        if let old = figures[key], Self.sameState(old, figure) { return false }
        figures[key] = figure
        return true
    }

    public mutating func replaceCatalog(_ document: CatalogDocument) {
        if let merged = try? Catalog(document) { catalog = merged }
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
